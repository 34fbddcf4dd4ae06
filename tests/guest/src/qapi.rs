//! The QEMU machine protocol (QMP) and the guest agent's protocol (QGA):
//! one JSON object per line over a Unix socket. Only what the harness
//! sends is modelled; replies are `serde_json::Value`s, and asynchronous
//! QMP events are kept aside for [`Qapi::wait_event`].

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::GuestError;

/// A connection to QMP or QGA.
pub struct Qapi {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    events: Vec<Value>,
    what: &'static str,
}

impl Qapi {
    /// Connects to QEMU's monitor and leaves capabilities negotiation.
    pub fn qmp(socket: &Path) -> Result<Self, GuestError> {
        let mut q = Self::connect(socket, "QMP", Duration::from_secs(30))?;
        let greeting = q.line()?;
        if greeting.get("QMP").is_none() {
            return Err(GuestError::Protocol(format!("QMP greeted with {greeting}")));
        }
        q.execute("qmp_capabilities", json!({}))?;
        Ok(q)
    }

    /// Connects to the guest agent and synchronises with it (a fresh id
    /// echoed back: anything an earlier client left unread is skipped).
    /// Fails when the agent does not answer within `wait` (the guest has
    /// not booted that far).
    pub fn qga(socket: &Path, wait: Duration) -> Result<Self, GuestError> {
        let start = Instant::now();
        loop {
            let attempt = Self::connect(socket, "QGA", Duration::from_secs(2)).and_then(|mut q| {
                let id = u64::from(std::process::id()) << 20
                    | u64::from(start.elapsed().subsec_micros());
                q.send("guest-sync", json!({ "id": id }))?;
                loop {
                    let v = q.line()?;
                    if v.get("return") == Some(&json!(id)) {
                        return Ok(q);
                    }
                }
            });
            match attempt {
                Ok(q) => {
                    q.reader
                        .get_ref()
                        .set_read_timeout(Some(Duration::from_secs(60)))
                        .map_err(|e| GuestError::io("QGA socket", e))?;
                    return Ok(q);
                }
                Err(e) if start.elapsed() >= wait => {
                    return Err(GuestError::Timeout(format!(
                        "the guest agent did not answer within {} s ({e})",
                        wait.as_secs()
                    )))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    fn connect(socket: &Path, what: &'static str, timeout: Duration) -> Result<Self, GuestError> {
        let s = UnixStream::connect(socket)
            .map_err(|e| GuestError::io(format!("{what} socket {}", socket.display()), e))?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| GuestError::io("socket", e))?;
        let writer = s.try_clone().map_err(|e| GuestError::io("socket", e))?;
        Ok(Self {
            reader: BufReader::new(s),
            writer,
            events: Vec::new(),
            what,
        })
    }

    fn send(&mut self, command: &str, arguments: Value) -> Result<(), GuestError> {
        let mut msg = json!({ "execute": command, "arguments": arguments }).to_string();
        msg.push('\n');
        self.writer
            .write_all(msg.as_bytes())
            .map_err(|e| GuestError::io(self.what, e))
    }

    fn line(&mut self) -> Result<Value, GuestError> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| GuestError::io(self.what, e))?;
        if n == 0 {
            return Err(GuestError::Protocol(format!(
                "{} closed the connection",
                self.what
            )));
        }
        serde_json::from_str(&line)
            .map_err(|e| GuestError::Protocol(format!("{} sent {line:?}: {e}", self.what)))
    }

    /// Runs one command; its `return` value, or its error as
    /// [`GuestError::Refused`].
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, GuestError> {
        self.send(command, arguments)?;
        loop {
            let v = self.line()?;
            if v.get("event").is_some() {
                self.events.push(v);
            } else if let Some(r) = v.get("return") {
                return Ok(r.clone());
            } else if let Some(e) = v.get("error") {
                return Err(GuestError::Refused {
                    command: command.to_owned(),
                    reason: e["desc"].as_str().unwrap_or("").to_owned(),
                });
            }
        }
    }

    /// Waits for an event named `name` whose data has `key` = `value`.
    pub fn wait_event(
        &mut self,
        name: &str,
        key: &str,
        value: &str,
        timeout: Duration,
    ) -> Result<(), GuestError> {
        let matches = |v: &Value| v["event"] == name && v["data"][key] == value;
        if let Some(i) = self.events.iter().position(matches) {
            self.events.remove(i);
            return Ok(());
        }
        let start = Instant::now();
        while start.elapsed() < timeout {
            match self.line() {
                Ok(v) if matches(&v) => return Ok(()),
                Ok(v) => self.events.push(v),
                Err(GuestError::Io { source, .. })
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Err(GuestError::Timeout(format!(
            "no {name} event for {key}={value}"
        )))
    }
}
