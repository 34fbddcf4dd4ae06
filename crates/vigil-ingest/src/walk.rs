//! Walking a recorder's storage without ever following a link (brief rule 4).
//!
//! Every directory is opened relative to its parent with `O_NOFOLLOW |
//! O_DIRECTORY`, and every file relative to its directory with `O_NOFOLLOW`,
//! so a symlink anywhere below the root, even one swapped in after the
//! listing, is never followed. Symlinks, device files, FIFOs and sockets are
//! reported as skipped and never opened. Paths are kept as raw bytes: a
//! recorder's file names need not be UTF-8, and nothing here turns them into
//! a path outside the recorder root, because no path is ever joined: only
//! single directory entries are opened, relative to an open directory.
//!
//! A walk that cannot see everything says so: a directory that
//! cannot be listed or opened, a directory seen twice (a cycle through a
//! corrupt FAT, a FUSE loop or a bind mount, detected by device and inode)
//! and a directory deeper than [`MAX_DEPTH`] are *errors* that make the run
//! incomplete, never silent skips: a recorder is not reported emptied when
//! part of it was not read.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::IngestError;

/// Directories deeper than this are not walked, and the run fails naming
/// them (recorders use two or three levels).
pub const MAX_DEPTH: usize = 64;

/// A regular file found under the root.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Path relative to the root, raw bytes, `/`-separated.
    pub rel: Vec<u8>,
    /// Size at listing time.
    pub size: u64,
}

/// An entry that is not ingested, and why.
#[derive(Debug, Clone)]
pub struct SkippedEntry {
    /// Path relative to the root, raw bytes.
    pub rel: Vec<u8>,
    /// Why it was skipped.
    pub reason: String,
}

/// Everything under a root.
#[derive(Debug, Default)]
pub struct Listing {
    /// Regular files, in directory order sorted by name.
    pub files: Vec<FoundFile>,
    /// Everything else (links, devices...: not evidence files, by policy).
    pub skipped: Vec<SkippedEntry>,
    /// What could not be walked: the listing is incomplete.
    pub errors: Vec<SkippedEntry>,
}

/// Reading on someone's behalf: the account whose rights a walk keeps to.
/// vigild may read more than the person who asked it to ingest a
/// directory; what that person could not read themselves is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Their uid.
    pub uid: u32,
    /// Their primary and supplementary groups.
    pub gids: Vec<u32>,
}

impl Access {
    /// Whether the permission bits of `st` give this account all of `want`
    /// (`0o4` read, `0o1` search/execute). Root may read anything. Only the
    /// mode bits are read: an ACL that grants more is not honoured, so a
    /// refusal may be stricter than the kernel, never looser.
    pub fn permits(&self, st: &rustix::fs::Stat, want: u32) -> bool {
        if self.uid == 0 {
            return true;
        }
        let mode = st.st_mode;
        let bits = if st.st_uid == self.uid {
            mode >> 6
        } else if self.gids.contains(&st.st_gid) {
            mode >> 3
        } else {
            mode
        };
        bits & want & 0o7 == want
    }
}

/// What a walk keeps to besides links: whose rights it reads with, and
/// directories it never enters (the evidence store itself).
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Read only what this account could read.
    pub access: Option<Access>,
    /// Directories (device, inode) never walked.
    pub exclude: Vec<(u64, u64)>,
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Opens the recorder root (the operator named it, so a link *to* the root
/// is followed; nothing below it is).
pub fn open_root(root: &Path) -> Result<OwnedFd, IngestError> {
    rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| IngestError::Root {
        path: root.to_owned(),
        source: e.into(),
    })
}

/// Lists every entry under `root`.
pub fn list(root: &OwnedFd) -> Listing {
    list_within(root, &Limits::default())
}

/// Lists every entry under `root` that `limits` allow: an entry the
/// account could not read, or an excluded directory, is an error (the run
/// is incomplete), never read.
pub fn list_within(root: &OwnedFd, limits: &Limits) -> Listing {
    let mut listing = Listing::default();
    let mut walk = Walk {
        seen: std::collections::HashSet::new(),
        limits,
    };
    if let Ok(st) = rustix::fs::fstat(root) {
        walk.seen.insert((st.st_dev, st.st_ino));
    }
    walk_dir(root, &mut Vec::new(), 0, &mut walk, &mut listing);
    listing
}

/// A walk's state: directories walked so far, by (device, inode), and its
/// limits.
struct Walk<'a> {
    seen: std::collections::HashSet<(u64, u64)>,
    limits: &'a Limits,
}

fn walk_dir(dir: &OwnedFd, prefix: &mut Vec<u8>, depth: usize, walk: &mut Walk, out: &mut Listing) {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let read = rustix::fs::Dir::read_from(dir).and_then(|d| {
        for entry in d {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(name.to_vec());
            }
        }
        Ok(())
    });
    if let Err(e) = read {
        out.errors.push(SkippedEntry {
            rel: prefix.clone(),
            reason: format!("directory cannot be listed: {}", std::io::Error::from(e)),
        });
        return;
    }
    names.sort();
    for name in names {
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(&name);
        visit(dir, &name, prefix, depth, walk, out);
        prefix.truncate(len);
    }
}

fn visit(
    dir: &OwnedFd,
    name: &[u8],
    rel: &mut Vec<u8>,
    depth: usize,
    walk: &mut Walk,
    out: &mut Listing,
) {
    let skip = |out: &mut Listing, reason: String| {
        out.skipped.push(SkippedEntry {
            rel: rel.clone(),
            reason,
        })
    };
    let fail = |out: &mut Listing, reason: String| {
        out.errors.push(SkippedEntry {
            rel: rel.clone(),
            reason,
        })
    };
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(e) => return fail(out, format!("cannot stat: {}", std::io::Error::from(e))),
    };
    let kind = FileType::from_raw_mode(st.st_mode);
    if let Some(a) = &walk.limits.access {
        let want = if kind == FileType::Directory {
            0o5
        } else {
            0o4
        };
        if matches!(kind, FileType::Directory | FileType::RegularFile) && !a.permits(&st, want) {
            return fail(
                out,
                format!(
                    "uid {} may not read it (mode {:o}, owner {}): not read on their behalf",
                    a.uid,
                    st.st_mode & 0o7777,
                    st.st_uid
                ),
            );
        }
    }
    match kind {
        FileType::RegularFile => out.files.push(FoundFile {
            rel: rel.clone(),
            size: st.st_size as u64,
        }),
        FileType::Directory => {
            if depth + 1 >= MAX_DEPTH {
                return fail(
                    out,
                    format!("directory nested deeper than {MAX_DEPTH} levels: not walked"),
                );
            }
            match rustix::fs::openat(dir, name, dir_flags(), Mode::empty()) {
                Ok(sub) => {
                    // The open directory's own identity (not the entry's
                    // stat, which a racing rename could make stale).
                    let id = rustix::fs::fstat(&sub).map(|st| (st.st_dev, st.st_ino));
                    match id {
                        Ok(id) if walk.limits.exclude.contains(&id) => fail(
                            out,
                            "the evidence store itself: never ingested".into(),
                        ),
                        Ok(id) if !walk.seen.insert(id) => fail(
                            out,
                            "directory seen before (a cycle or a directory linked twice): not walked again"
                                .into(),
                        ),
                        Ok(_) => walk_dir(&sub, rel, depth + 1, walk, out),
                        Err(e) => fail(out, format!("cannot stat: {}", std::io::Error::from(e))),
                    }
                }
                Err(e) => fail(
                    out,
                    format!("directory cannot be opened: {}", std::io::Error::from(e)),
                ),
            }
        }
        FileType::Symlink => skip(out, "symbolic link: not followed".into()),
        FileType::CharacterDevice => skip(out, "character device: not read".into()),
        FileType::BlockDevice => skip(out, "block device: not read".into()),
        FileType::Fifo => skip(out, "FIFO: not read".into()),
        FileType::Socket => skip(out, "socket: not read".into()),
        FileType::Unknown => skip(out, "unknown file type: not read".into()),
    }
}

/// Opens the regular file at `rel` below `root` for reading, refusing a
/// symlink or non-regular file at every step.
pub fn open_file(root: &OwnedFd, rel: &[u8]) -> std::io::Result<File> {
    let mut parts = rel.split(|&b| b == b'/').peekable();
    let mut owned: Option<OwnedFd> = None;
    while let Some(part) = parts.next() {
        if part.is_empty() || part == b"." || part == b".." {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "path component is empty, '.' or '..'",
            ));
        }
        let at = owned.as_ref().unwrap_or(root);
        if parts.peek().is_some() {
            owned = Some(rustix::fs::openat(at, part, dir_flags(), Mode::empty())?);
        } else {
            let flags = OFlags::RDONLY
                | OFlags::NOFOLLOW
                | OFlags::NONBLOCK
                | OFlags::NOCTTY
                | OFlags::CLOEXEC;
            // O_NOATIME keeps the recorder's access times untouched where we
            // are allowed to ask for it.
            let fd = rustix::fs::openat(at, part, flags | OFlags::NOATIME, Mode::empty()).or_else(
                |e| match e {
                    rustix::io::Errno::PERM => rustix::fs::openat(at, part, flags, Mode::empty()),
                    e => Err(e),
                },
            )?;
            let st = rustix::fs::fstat(&fd)?;
            if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "no longer a regular file",
                ));
            }
            return Ok(File::from(fd));
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "empty path",
    ))
}

/// A printable form of a raw path: valid UTF-8 is kept, other bytes and
/// control characters become `\xNN`, and `\` becomes `\\`, so the text is
/// unambiguous and cannot forge extra output lines.
pub fn display(rel: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(rel.len());
    for chunk in rel.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                c if c.is_control() => {
                    let mut b = [0u8; 4];
                    for byte in c.encode_utf8(&mut b).bytes() {
                        let _ = write!(s, "\\x{byte:02x}");
                    }
                }
                c => s.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(s, "\\x{byte:02x}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn display_escapes_what_is_not_plain_text() {
        assert_eq!(display(b"DCIM/a.mp4"), "DCIM/a.mp4");
        assert_eq!(display(b"bad\xff\xfename"), "bad\\xff\\xfename");
        assert_eq!(display(b"two\nlines"), "two\\x0alines");
        assert_eq!(display(b"back\\slash"), "back\\\\slash");
        assert_eq!(display("录像.mp4".as_bytes()), "录像.mp4");
    }

    #[test]
    fn lists_files_and_skips_links_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("DCIM/100")).unwrap();
        std::fs::write(p.join("DCIM/100/a.mp4"), b"abc").unwrap();
        std::fs::write(p.join(std::ffi::OsStr::from_bytes(b"n\xffx.log")), b"").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", p.join("DCIM/evil.mp4")).unwrap();
        std::os::unix::fs::symlink("/etc", p.join("etc")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            p.join("fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let root = open_root(p).unwrap();
        let l = list(&root);
        let files: Vec<String> = l.files.iter().map(|f| display(&f.rel)).collect();
        assert_eq!(files, vec!["DCIM/100/a.mp4", "n\\xffx.log"]);
        let skipped: Vec<(String, &str)> = l
            .skipped
            .iter()
            .map(|s| (display(&s.rel), s.reason.split(':').next().unwrap()))
            .collect();
        assert_eq!(
            skipped,
            vec![
                ("DCIM/evil.mp4".into(), "symbolic link"),
                ("etc".into(), "symbolic link"),
                ("fifo".into(), "FIFO"),
            ]
        );
        assert_eq!(
            std::io::read_to_string(open_file(&root, b"DCIM/100/a.mp4").unwrap()).unwrap(),
            "abc"
        );
    }

    #[test]
    fn open_refuses_links_swapped_in_after_listing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir(p.join("DCIM")).unwrap();
        std::fs::write(p.join("DCIM/a.mp4"), b"abc").unwrap();
        let root = open_root(p).unwrap();
        let l = list(&root);
        assert_eq!(l.files.len(), 1);
        // Swap the directory for a link to elsewhere, and the file too.
        std::fs::rename(p.join("DCIM"), p.join("moved")).unwrap();
        std::os::unix::fs::symlink(p.join("moved"), p.join("DCIM")).unwrap();
        assert!(open_file(&root, b"DCIM/a.mp4").is_err());
        std::fs::remove_file(p.join("DCIM")).unwrap();
        std::fs::create_dir(p.join("DCIM")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", p.join("DCIM/a.mp4")).unwrap();
        assert!(open_file(&root, b"DCIM/a.mp4").is_err());
        assert!(open_file(&root, b"../etc/hostname").is_err());
        assert!(open_file(&root, b"/etc/hostname").is_err());
    }
}
