//! Verifying the store against its index: every object re-hashed, every
//! clip row against the audit row that vouches for it, the log's Merkle
//! tree, its anchor and the triggers that keep rows append-only (R10, R20).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::audit;
use crate::error::Result;
use crate::index::{Index, ANCHOR_FILE};
use crate::objects::ObjectStore;

/// One thing `verify` found wrong (or worth a warning).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Problem {
    /// `object_missing`, `object_altered`, `clip_object_missing`,
    /// `audit_chain`, `unindexed_object`.
    pub kind: String,
    /// The object hash, clip id or audit row it is about.
    pub subject: String,
    /// Plain-language detail.
    pub detail: String,
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct VerifyReport {
    /// True when there are no problems.
    pub ok: bool,
    /// Objects re-read.
    pub objects_checked: u64,
    /// Bytes re-read.
    pub bytes_checked: u64,
    /// Clips checked.
    pub clips_checked: u64,
    /// Audit rows checked.
    pub audit_rows_checked: u64,
    /// Recordings whose continuity was analysed again and compared with
    /// the gap log.
    #[serde(default)]
    pub recordings_reanalysed: u64,
    /// What is wrong; any entry makes `ok` false.
    pub problems: Vec<Problem>,
    /// Worth knowing but not a failure (e.g. an object file left by an
    /// interrupted ingest, adopted when that ingest is run again).
    pub warnings: Vec<Problem>,
}

impl Index {
    /// Checks the anchor `text` (read before the snapshot was taken, so it
    /// never names a row committed after it) against the log.
    fn check_anchor(&self, text: Option<String>, report: &mut VerifyReport) -> Result<()> {
        let file = self.path.with_file_name(ANCHOR_FILE);
        let Some(text) = text else {
            return Ok(());
        };
        let Some((seq, hash)) = text
            .trim()
            .split_once(' ')
            .and_then(|(s, h)| Some((s.parse::<i64>().ok()?, h.to_owned())))
        else {
            report.warnings.push(Problem {
                kind: "audit_anchor".into(),
                subject: file.display().to_string(),
                detail: "the audit anchor cannot be read".into(),
            });
            return Ok(());
        };
        let row: Option<String> = self
            .conn
            .query_row("SELECT hash FROM audit WHERE seq = ?1", [seq], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        match row {
            None => report.problems.push(Problem {
                kind: "audit_chain".into(),
                subject: format!("audit row {seq}"),
                detail: format!(
                    "the log once reached row {seq} ({}); rows are missing from its end",
                    file.display()
                ),
            }),
            Some(h) if h != hash => report.problems.push(Problem {
                kind: "audit_chain".into(),
                subject: format!("audit row {seq}"),
                detail: format!(
                    "row {seq} differs from the hash recorded in {}",
                    file.display()
                ),
            }),
            Some(_) => {}
        }
        Ok(())
    }
    /// Every clip row against what its `clip.ingested` audit row vouches
    /// for: object, path, recorder and officer (a row edited behind the
    /// service, its log row left as it was, is named).
    fn check_clips_against_log(&self, report: &mut VerifyReport) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, c.object, c.path_display, c.device_serial, c.officer_id, a.detail
                   FROM clips c LEFT JOIN audit a
                     ON a.subject = c.id AND a.action = 'clip.ingested'
                  ORDER BY c.id",
            )
            .map_err(|e| self.err(e))?;
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<Row>>>()
            .map_err(|e| self.err(e))?;
        for (id, object, path, device, officer, detail) in rows {
            let Some(detail) = detail else {
                report.problems.push(Problem {
                    kind: "clip_unlogged".into(),
                    subject: id.clone(),
                    detail: format!("clip {id} ({path}) has no clip.ingested row in the audit log"),
                });
                continue;
            };
            let logged: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
            let mut wrong = Vec::new();
            let text = |k: &str| logged[k].as_str().map(str::to_owned);
            if text("blake3").as_deref() != Some(object.as_str()) {
                wrong.push(format!(
                    "its object is {object}, the log says {}",
                    logged["blake3"]
                ));
            }
            if text("path").as_deref() != Some(path.as_str()) {
                wrong.push(format!(
                    "its path is {path:?}, the log says {}",
                    logged["path"]
                ));
            }
            if text("device") != device {
                wrong.push(format!(
                    "its recorder is {device:?}, the log says {}",
                    logged["device"]
                ));
            }
            if text("officer") != officer {
                wrong.push(format!(
                    "its officer is {officer:?}, the log says {}",
                    logged["officer"]
                ));
            }
            if !wrong.is_empty() {
                report.problems.push(Problem {
                    kind: "clip_altered".into(),
                    subject: id.clone(),
                    detail: format!(
                        "clip {id} no longer matches its clip.ingested row: {}",
                        wrong.join("; ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// The append-only and immutability triggers the schema defines, each
    /// present and as defined: a dropped or rewritten trigger is named.
    fn check_triggers(&self, report: &mut VerifyReport) -> Result<()> {
        let reference = Connection::open_in_memory().map_err(|e| self.err(e))?;
        for m in crate::schema::MIGRATIONS {
            reference.execute_batch(m).map_err(|e| self.err(e))?;
        }
        let triggers = |c: &Connection| -> rusqlite::Result<BTreeMap<String, String>> {
            let mut stmt =
                c.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        };
        let want = triggers(&reference).map_err(|e| self.err(e))?;
        let have = triggers(&self.conn).map_err(|e| self.err(e))?;
        for (name, sql) in &want {
            let problem = match have.get(name) {
                None => "is missing (dropped)",
                Some(h) if h != sql => "was changed",
                Some(_) => continue,
            };
            report.problems.push(Problem {
                kind: "schema_altered".into(),
                subject: format!("trigger {name}"),
                detail: format!(
                    "the trigger {name} {problem}: the rule it keeps no longer holds in the index"
                ),
            });
        }
        Ok(())
    }

    pub(crate) fn verify(
        &self,
        objects: &ObjectStore,
        progress: &mut dyn FnMut(u64),
    ) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        // One read transaction: objects, clips and the audit log are read in
        // one snapshot, so an ingest committing meanwhile cannot make them
        // disagree.
        let anchor = std::fs::read_to_string(self.path.with_file_name(ANCHOR_FILE)).ok();
        let snapshot = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let indexed: Vec<(String, String, i64)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT blake3, sha256, bytes FROM objects ORDER BY blake3")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        let purged = self.custody().purged_objects()?;
        let mut done = 0u64;
        for (b3, sha, bytes) in &indexed {
            if purged.contains(b3) && !objects.object_path(b3).exists() {
                continue; // removed under the retention policy, audited
            }
            report.objects_checked += 1;
            match objects.rehash(b3) {
                Ok(d) => {
                    done += d.bytes;
                    report.bytes_checked += d.bytes;
                    let mut wrong = Vec::new();
                    if &d.blake3 != b3 {
                        wrong.push(format!("BLAKE3 is now {}", d.blake3));
                    }
                    if &d.sha256 != sha {
                        wrong.push(format!("SHA-256 is {} but the index has {sha}", d.sha256));
                    }
                    if d.bytes != *bytes as u64 {
                        wrong.push(format!("{} bytes but the index has {bytes}", d.bytes));
                    }
                    if !wrong.is_empty() {
                        report.problems.push(Problem {
                            kind: "object_altered".into(),
                            subject: b3.clone(),
                            detail: format!(
                                "{}: {}",
                                objects.object_path(b3).display(),
                                wrong.join("; ")
                            ),
                        });
                    }
                }
                Err(err) => report.problems.push(Problem {
                    kind: "object_missing".into(),
                    subject: b3.clone(),
                    detail: err.to_string(),
                }),
            }
            progress(done);
        }
        let indexed_set: BTreeSet<&str> = indexed.iter().map(|(b, _, _)| b.as_str()).collect();

        let clips: Vec<(String, String, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, object, path_display FROM clips WHERE purged_at IS NULL ORDER BY id")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        let bad_objects: BTreeSet<String> =
            report.problems.iter().map(|p| p.subject.clone()).collect();
        for (id, object, path) in &clips {
            report.clips_checked += 1;
            if !indexed_set.contains(object.as_str()) || bad_objects.contains(object) {
                report.problems.push(Problem {
                    kind: "clip_object_missing".into(),
                    subject: id.clone(),
                    detail: format!(
                        "clip {id} ({path}) refers to object {object}, which is missing or altered"
                    ),
                });
            }
        }

        self.check_clips_against_log(&mut report)?;
        self.check_triggers(&mut report)?;
        self.check_anchor(anchor, &mut report)?;
        let breaks = audit::verify_chain(&self.conn).map_err(|e| self.err(e))?;
        let key = self
            .path
            .parent()
            .and_then(|root| crate::tlog::public_key(root).ok());
        for (kind, subject, detail) in
            crate::tlog::check(&self.conn, key.as_ref()).map_err(|e| self.err(e))?
        {
            report.problems.push(Problem {
                kind: kind.into(),
                subject,
                detail,
            });
        }
        report.audit_rows_checked = self
            .conn
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get::<_, i64>(0))
            .map_err(|e| self.err(e))? as u64;
        drop(snapshot);

        // Objects the index does not know. One committed after the snapshot
        // is asked about again; one written since an ingest run that has not
        // finished started may belong to it (running now, or interrupted:
        // adopted when it is run again): a warning. Any other is evidence
        // the index lost.
        let unfinished: Option<String> = self
            .conn
            .query_row(
                "SELECT MIN(started_at) FROM ingest_runs WHERE status = 'running'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let since_unfinished = |t: std::time::SystemTime| {
            let t = crate::timefmt::rfc3339(time::OffsetDateTime::from(t));
            unfinished
                .as_deref()
                .is_some_and(|start| t.as_str() >= start)
        };
        for name in objects.list()? {
            if indexed_set.contains(name.as_str()) {
                continue;
            }
            let now_known: bool = self
                .conn
                .query_row("SELECT 1 FROM objects WHERE blake3 = ?1", [&name], |_| {
                    Ok(())
                })
                .optional()
                .map_err(|e| self.err(e))?
                .is_some();
            if now_known {
                continue;
            }
            let path = objects.object_path(&name);
            let recent = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .is_ok_and(since_unfinished);
            let p = Problem {
                kind: "unindexed_object".into(),
                subject: name.clone(),
                detail: if recent {
                    format!("{}: not in the index yet (an ingest running now, or just interrupted: running it again adopts it)", path.display())
                } else {
                    format!("{}: stored evidence the index does not know (the index lost rows or was replaced: restore it from backup)", path.display())
                },
            };
            if recent {
                report.warnings.push(p);
            } else {
                report.problems.push(p);
            }
        }
        for b in breaks {
            report.problems.push(Problem {
                kind: "audit_chain".into(),
                subject: format!("audit row {}", b.seq),
                detail: b.problem,
            });
        }
        // The derived state the lists and queues read (schema 15) must be
        // what the explanations give.
        for (gap, stored, want) in
            crate::explanations::stale_states(&self.conn).map_err(|e| self.err(e))?
        {
            report.problems.push(Problem {
                kind: "gap_state".into(),
                subject: gap,
                detail: format!(
                    "the interruption is listed as {stored}, but its explanations make it {want} (the index was edited behind the service)"
                ),
            });
        }
        report.ok = report.problems.is_empty();
        Ok(report)
    }
}
