//! The installed station joined to an agency centre, as docs/operations.md
//! says: enrolled at the centre with its key, the unit's drop-in that
//! gives vigild the network, the centre's URL, pin and witness key in
//! `vigild.toml`. The centre (and its throwaway PostgreSQL) runs on the
//! host; the guest reaches it over QEMU's user network.

use std::time::Duration;

use serde_json::Value;
use vigil_e2e::agency::{free_port, Centre, Postgres};
use vigil_guest::Station;

use crate::cards::stage;
use crate::{json, sh, up_networked, wait_done, wait_for, workspace};

/// docs/operations.md's drop-in for a vigild that uses the network.
const NETWORK_DROP_IN: &str =
    "[Service]\nPrivateNetwork=no\nRestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6\n";

#[test]
fn a_packaged_station_sends_its_log_to_the_agency_centre() {
    let pg = Postgres::start(&["agency"]);
    let port = free_port();
    let s = up_networked("centre");
    let mut centre = Centre::init(
        &pg,
        "agency",
        &s.dir().join("centre"),
        &format!("127.0.0.1:{port}"),
    );
    centre.start();

    // Joined, but before the drop-in the hardened unit has no network:
    // the station says so and keeps its log (the outbox).
    let join = format!(
        "centre_url = \"https://10.0.2.2:{port}\"\ncentre_fingerprint = \"{}\"\ncentre_witness = \"{}\"\ncentre_every_s = 2\n",
        centre.fingerprint, centre.witness
    );
    std::fs::write(s.share().join("join.toml"), &join).unwrap();
    sh(
        &s,
        "cat /mnt/host/join.toml >> /etc/vigil/vigild.toml && systemctl restart vigild",
    );
    s.wait_ready(Duration::from_secs(120)).unwrap();
    // Enrolment: the station's key (its log's first checkpoint is
    // signed once the join is recorded), registered at the centre.
    wait_for(&s, "the first checkpoint", Duration::from_secs(60), |s| {
        s.sh("vigil checkpoint --key").is_ok_and(|o| o.code == 0)
    });
    let key = sh(&s, "vigil checkpoint --key").trim().to_owned();
    let name = key.split('+').next().unwrap().to_owned();
    let out = centre.run(&["station", "add", &name, "--key", &key]);
    assert!(out.status.success(), "station add: {out:?}");
    wait_for(&s, "the link's failure", Duration::from_secs(60), |s| {
        outbox(s)["outbox"]["last_error"].is_string()
    });
    let said = outbox(&s)["outbox"]["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        said.contains(&format!("nothing answers at 10.0.2.2:{port}"))
            && said.contains("drop-in")
            && !said.contains("systemctl start vigild"),
        "{said}"
    );
    assert_eq!(held(&pg, &name), 0, "nothing reached the centre");

    // With the drop-in, the log goes to the centre.
    std::fs::write(s.share().join("network.conf"), NETWORK_DROP_IN).unwrap();
    sh(
        &s,
        "mkdir -p /etc/systemd/system/vigild.service.d && \
         cp /mnt/host/network.conf /etc/systemd/system/vigild.service.d/ && \
         systemctl daemon-reload && systemctl restart vigild",
    );
    s.wait_ready(Duration::from_secs(120)).unwrap();
    let fixture = workspace().join("fixtures/generated/recorder-seq/DCIM/100MEDIA/REC_0001.MP4");
    stage(&s, "joined", &[("DCIM/100MEDIA/REC_0001.MP4", fixture)]);
    let image = s.make_card("joined", "vfat", 64, 480, &[]).unwrap();
    s.plug_storage(&image, "joined", "REC-JOINED").unwrap();
    wait_done(&s, "REC-JOINED");
    let doc = {
        let mut doc = Value::Null;
        wait_for(&s, "the log at the centre", Duration::from_secs(120), |s| {
            doc = outbox(s);
            let size = doc["log_size"].as_i64().unwrap_or(0);
            doc["depth"] == 0 && size > 0 && held(&pg, &name) == size
        });
        doc
    };
    assert!(doc["outbox"]["last_error"].is_null(), "{doc:#}");

    // What the centre holds is the station's own: its clip, byte for byte
    // by hash, and a cosigned checkpoint of the whole log.
    let stored: Vec<String> = json(&s, "vigil clips --json")["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha256"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let at_centre = pg.sql(
        "agency",
        &format!("SELECT sha256 FROM clips WHERE station = '{name}'"),
    );
    assert_eq!(at_centre.trim(), stored[0]);
    // (Listing the clips is itself a log entry: the log keeps growing.)
    wait_for(
        &s,
        "the cosigned checkpoint",
        Duration::from_secs(60),
        |s| outbox(s)["cosigned"]["size"].as_i64() >= doc["log_size"].as_i64(),
    );
    let board = centre.stations();
    assert_eq!(board[0]["name"], name.as_str(), "{board:#}");
    assert!(
        board[0]["applied"].as_i64() >= doc["log_size"].as_i64(),
        "{board:#}"
    );
    assert!(board[0]["flag"].is_null(), "{board:#}");
    let joined = json(&s, "vigil audit --json --action centre.joined")["audit"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(joined, 1, "the join from vigild.toml is audited once");
}

/// `vigil centre --json` in the guest.
fn outbox(s: &Station) -> Value {
    json(s, "vigil centre --json")
}

/// How many of `station`'s log entries the centre holds.
fn held(pg: &Postgres, station: &str) -> i64 {
    pg.count(
        "agency",
        &format!("SELECT COUNT(*) FROM entries WHERE station = '{station}'"),
    )
}
