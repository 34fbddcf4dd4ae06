//! The audit log as a transparency log (R10, R20): an append-only
//! Merkle tree as RFC 6962 defines it and RFC 9162 §2.1 proves it, the
//! structure Certificate Transparency, Sigstore and Go's checksum database
//! hand out checkpoints of.
//!
//! - leaf hash `SHA-256(0x00 ‖ leaf)`, node hash `SHA-256(0x01 ‖ left ‖
//!   right)`, the tree of `n` leaves split at the largest power of two
//!   below `n` ([`root`]);
//! - an inclusion proof shows a leaf is at its index in a tree of a size
//!   ([`inclusion_proof`], [`verify_inclusion`]);
//! - a consistency proof shows a tree of one size is a prefix of a larger
//!   one: history was only appended to ([`consistency_proof`],
//!   [`verify_consistency`]);
//! - [`Compact`] keeps a growing tree's root in O(log n) state;
//! - [`note`]: checkpoints (C2SP `tlog-checkpoint`) signed as C2SP
//!   `signed-note`s with Ed25519;
//! - [`cosignature`]: a witness's `cosignature/v1` over a checkpoint, and
//!   [`witness`]: the `tlog-witness` `add-checkpoint` request and checks.
//!
//! Proofs are built from a [`Leaves`] source, so a store can answer the
//! subtree hashes it keeps instead of rehashing every leaf.

pub mod cosignature;
pub mod note;
pub mod witness;

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index is not in the tree.
    #[error("leaf {index} is not in a tree of {size} leaves")]
    OutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The sizes are the wrong way round.
    #[error("a tree of {old} leaves cannot extend to one of {new}")]
    Shrinks {
        /// The earlier size.
        old: u64,
        /// The later size.
        new: u64,
    },
    /// The proof has the wrong number of hashes.
    #[error("the proof has {got} hashes where {want} are needed")]
    Length {
        /// Hashes given.
        got: usize,
        /// Hashes needed.
        want: usize,
    },
    /// The proof leads to another root: the trees differ.
    #[error("the proof leads to another root: the logs differ")]
    Mismatch,
}

/// A row's Merkle leaf: `seq` (8 bytes little-endian), then `at`, `actor`,
/// `action`, `subject`, `detail` (the JSON text as stored), each as its
/// length (8 bytes little-endian) followed by its UTF-8 bytes. The leaf
/// hash is `SHA-256(0x00 ‖ leaf)` (RFC 6962). An auditor can recompute it
/// from the row alone (docs/operations.md), and a centre does from the rows
/// a station sends.
pub fn row_leaf(
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        8 + 40 + at.len() + actor.len() + action.len() + subject.len() + detail.len(),
    );
    out.extend_from_slice(&seq.to_le_bytes());
    for field in [at, actor, action, subject, detail] {
        out.extend_from_slice(&(field.len() as u64).to_le_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// The hash of a leaf's bytes.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of an empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Where the leaf hashes come from.
pub trait Leaves {
    /// How many leaves.
    fn len(&self) -> u64;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The hash of leaf `i`.
    fn leaf(&self, i: u64) -> Hash;
    /// The root of leaves `[start, end)` (end > start). A store with
    /// cached subtrees overrides this.
    fn subtree(&self, start: u64, end: u64) -> Hash {
        if end - start == 1 {
            return self.leaf(start);
        }
        let k = split(end - start);
        node_hash(
            &self.subtree(start, start + k),
            &self.subtree(start + k, end),
        )
    }
}

impl Leaves for [Hash] {
    fn len(&self) -> u64 {
        self.len() as u64
    }
    fn leaf(&self, i: u64) -> Hash {
        self[i as usize]
    }
}

impl Leaves for Vec<Hash> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn leaf(&self, i: u64) -> Hash {
        self[i as usize]
    }
}

/// The root of the first `size` leaves (RFC 6962 MTH).
pub fn root(leaves: &(impl Leaves + ?Sized), size: u64) -> Hash {
    if size == 0 {
        empty_root()
    } else {
        leaves.subtree(0, size)
    }
}

/// The proof that leaf `index` is in the tree of the first `size` leaves
/// (RFC 6962 PATH), from the leaf up.
pub fn inclusion_proof(
    leaves: &(impl Leaves + ?Sized),
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size || size > leaves.len() {
        return Err(ProofError::OutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(leaves, index, 0, size, &mut out);
    Ok(out)
}

fn path(leaves: &(impl Leaves + ?Sized), m: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(leaves, m, start, start + k, out);
        out.push(leaves.subtree(start + k, end));
    } else {
        path(leaves, m - k, start + k, end, out);
        out.push(leaves.subtree(start, start + k));
    }
}

/// The proof that the tree of the first `old` leaves is a prefix of the
/// tree of the first `new` (RFC 6962 PROOF).
pub fn consistency_proof(
    leaves: &(impl Leaves + ?Sized),
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old > new {
        return Err(ProofError::Shrinks { old, new });
    }
    if new > leaves.len() {
        return Err(ProofError::OutOfRange {
            index: new,
            size: leaves.len(),
        });
    }
    let mut out = Vec::new();
    if old > 0 && old < new {
        subproof(leaves, old, 0, new, true, &mut out);
    }
    Ok(out)
}

fn subproof(
    leaves: &(impl Leaves + ?Sized),
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(leaves.subtree(start, end));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(leaves, m, start, start + k, whole, out);
        out.push(leaves.subtree(start + k, end));
    } else {
        subproof(leaves, m - k, start + k, end, false, out);
        out.push(leaves.subtree(start, start + k));
    }
}

/// Checks that `leaf` (a leaf hash) is at `index` in the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::Length {
                got: proof.len(),
                want: proof.len() - 1,
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::Length {
            got: proof.len(),
            want: proof.len() + 1,
        });
    }
    if r != *root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of
/// the tree of `new` leaves with root `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::Shrinks { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::Length {
                got: proof.len(),
                want: 0,
            });
        }
        return if old == 0 || old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::Length { got: 0, want: 1 });
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::Mismatch);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 || fr != *old_root || sr != *new_root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// A growing tree's root in O(log n) state: the roots of its perfect
/// subtrees, largest first (the "frontier").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compact {
    size: u64,
    frontier: Vec<Hash>,
}

impl Compact {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of `size` leaves from its frontier (the perfect subtrees'
    /// roots, largest first, one for each one bit of `size`); none when
    /// the count is wrong.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Option<Self> {
        (frontier.len() == size.count_ones() as usize).then_some(Self { size, frontier })
    }

    /// The frontier: the perfect subtrees' roots, largest first.
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// How many leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        // Each trailing one bit of the old size is a perfect subtree the
        // new leaf completes.
        let mut n = self.size;
        while n & 1 == 1 {
            let left = self.frontier.pop().expect("a subtree per one bit");
            h = node_hash(&left, &h);
            n >>= 1;
        }
        self.frontier.push(h);
        self.size += 1;
    }

    /// The root.
    pub fn root(&self) -> Hash {
        let mut it = self.frontier.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

/// Every perfect, aligned subtree's hash, level by level (2n hashes for n
/// leaves): any subtree root the proofs ask for in O(log n). The shape a
/// store keeps its tree in.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    /// `levels[k][i]` is the root of leaves `[i·2^k, (i+1)·2^k)`.
    levels: Vec<Vec<Hash>>,
}

impl Levels {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let mut k = 0;
        while self.levels[k].len().is_multiple_of(2) {
            let n = self.levels[k].len();
            let h = node_hash(&self.levels[k][n - 2], &self.levels[k][n - 1]);
            if self.levels.len() == k + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[k + 1].push(h);
            k += 1;
        }
    }
}

impl Leaves for Levels {
    fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }
    fn leaf(&self, i: u64) -> Hash {
        self.levels[0][i as usize]
    }
    fn subtree(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let k = n.trailing_zeros() as usize;
            return self.levels[k][(start >> k) as usize];
        }
        let k = split(n);
        node_hash(
            &self.subtree(start, start + k),
            &self.subtree(start + k, end),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Certificate Transparency's reference leaves and the roots of their
    /// first 1..8 (RFC 6962 test data; also computed by Python's hashlib
    /// from the definition alone).
    const LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn tree(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn roots_match_the_reference_vectors() {
        let hashes: Vec<Hash> = LEAVES.iter().map(|l| leaf_hash(l)).collect();
        let mut compact = Compact::new();
        for (i, want) in ROOTS.iter().enumerate() {
            compact.push(hashes[i]);
            assert_eq!(hex(&root(&hashes, i as u64 + 1)), *want, "size {}", i + 1);
            assert_eq!(hex(&compact.root()), *want, "compact size {}", i + 1);
        }
        assert_eq!(
            hex(&root(&hashes, 0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_changed_one_does_not() {
        let leaves = tree(40);
        for size in 1..=40u64 {
            let r = root(&leaves, size);
            for i in 0..size {
                let p = inclusion_proof(&leaves, i, size).unwrap();
                // O(log n): at most ceil(log2(size)) hashes.
                assert!(p.len() as u32 <= 64 - (size - 1).leading_zeros());
                verify_inclusion(i, size, &leaves[i as usize], &p, &r).unwrap();
                // Another leaf, another index, a changed hash: refused.
                let other = leaves[((i + 1) % 40) as usize];
                assert!(verify_inclusion(i, size, &other, &p, &r).is_err());
                if size > 1 {
                    assert!(
                        verify_inclusion((i + 1) % size, size, &leaves[i as usize], &p, &r)
                            .is_err()
                    );
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert!(verify_inclusion(i, size, &leaves[i as usize], &bad, &r).is_err());
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_rewritten_log_does_not() {
        let leaves = tree(40);
        for new in 1..=40u64 {
            let new_root = root(&leaves, new);
            for old in 1..=new {
                let old_root = root(&leaves, old);
                let p = consistency_proof(&leaves, old, new).unwrap();
                verify_consistency(old, new, &old_root, &new_root, &p).unwrap();
                if old < new {
                    // A log whose leaf before `old` was rewritten is not
                    // an extension of the old one.
                    let mut forged = leaves.clone();
                    forged[(old - 1) as usize][0] ^= 1;
                    let forged_root = root(&forged, new);
                    let fp = consistency_proof(&forged, old, new).unwrap();
                    assert_eq!(
                        verify_consistency(old, new, &old_root, &forged_root, &fp),
                        Err(ProofError::Mismatch),
                        "{old}..{new}"
                    );
                    let mut bad = p.clone();
                    bad[0][31] ^= 1;
                    assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
                }
            }
        }
        assert!(consistency_proof(&leaves, 5, 4).is_err());
    }

    #[test]
    fn levels_answer_what_rehashing_every_leaf_does() {
        let leaves = tree(100);
        let mut levels = Levels::new();
        for (n, l) in leaves.iter().enumerate() {
            levels.push(*l);
            let size = n as u64 + 1;
            assert_eq!(root(&levels, size), root(&leaves, size));
        }
        for (old, new) in [(1, 100), (37, 64), (64, 100), (99, 100)] {
            assert_eq!(
                consistency_proof(&levels, old, new).unwrap(),
                consistency_proof(&leaves, old, new).unwrap()
            );
            assert_eq!(
                inclusion_proof(&levels, old - 1, new).unwrap(),
                inclusion_proof(&leaves, old - 1, new).unwrap()
            );
        }
    }
}
