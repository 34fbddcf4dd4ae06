//! Fuzzes the dock frame decoder: any bytes, fed in any split, must never
//! panic, and every frame it accepts must re-encode to bytes that decode to
//! the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_dock_proto::frame::{encode, encoded_len, Decoder};
use vigil_dock_proto::MAX_FRAME;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)) % (data.len() + 1);
    let mut d: Decoder<{ encoded_len(MAX_FRAME) }> = Decoder::new();
    let mut accepted = Vec::new();
    for part in [&data[..split], &data[split..]] {
        d.feed(part, |r| {
            if let Ok(env) = r {
                accepted.push(env);
            }
        });
    }
    let mut scratch = vec![0u8; MAX_FRAME];
    let mut out = vec![0u8; encoded_len(MAX_FRAME)];
    for env in accepted {
        let n = encode(&env, &mut scratch, &mut out).expect("an accepted frame re-encodes");
        let mut again: Decoder<{ encoded_len(MAX_FRAME) }> = Decoder::new();
        let mut back = None;
        again.feed(&out[..n], |r| back = Some(r));
        assert_eq!(back, Some(Ok(env)));
    }
});
