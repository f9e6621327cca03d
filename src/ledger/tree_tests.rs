//! Tree tests: RFC 6962 / CT reference vectors, ct-merkle as an independent
//! oracle, and negative verification cases.

use std::collections::HashMap;

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use sha2::Sha256;

use super::hash::{Hash, empty_root, leaf_hash};
use super::memory::MemoryTree;
use super::tree::{self, FnSource, NodeId, NodeSource, TreeError};
use super::verify::{verify_consistency, verify_inclusion};

/// The eight CT reference leaves (transparency-dev/merkle testonly data,
/// also used by google/certificate-transparency merkle tests).
const CT_LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Roots of the trees made of the first 1..=8 reference leaves.
const CT_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn ct_tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    for l in CT_LEAVES {
        t.append(&hex::decode(l).unwrap());
    }
    t
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry-{i}").into_bytes()
}

fn to_hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes.chunks(32).map(|c| c.try_into().unwrap()).collect()
}

/// Small deterministic generator so the "random" sizes are reproducible.
struct XorShift(u64);
impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn ct_reference_roots() {
    let t = ct_tree();
    assert_eq!(t.root_at(0).unwrap(), empty_root());
    for (n, want) in CT_ROOTS.iter().enumerate() {
        assert_eq!(hex::encode(t.root_at(n as u64 + 1).unwrap()), *want);
    }
}

#[test]
fn ct_reference_proofs() {
    // transparency-dev/merkle proof/verify_test.go (leaf numbers there are
    // 1-based; these indices are 0-based).
    let t = ct_tree();
    let incl: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, want) in incl {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(t.inclusion_proof(index, size).unwrap(), want);
    }
    let cons: [(u64, u64, &[&str]); 4] = [
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (old, new, want) in cons {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(t.consistency_proof(old, new).unwrap(), want);
        let (r1, r2) = (t.root_at(old).unwrap(), t.root_at(new).unwrap());
        verify_consistency(old, new, &r1, &r2, &want).unwrap();
    }
}

/// Checks every root, inclusion proof and consistency proof of `ours` at
/// size `oracle.len()` against ct-merkle, for the given indices / old sizes.
fn compare_with_oracle(
    ours: &MemoryTree,
    oracle: &MemoryBackedTree<Sha256, Vec<u8>>,
    indices: impl Iterator<Item = u64>,
    olds: impl Iterator<Item = u64>,
) {
    let size = oracle.len();
    let root = ours.root_at(size).unwrap();
    assert_eq!(&root[..], &oracle.root().as_bytes()[..], "root size {size}");
    for i in indices {
        let proof = ours.inclusion_proof(i, size).unwrap();
        let want = oracle.prove_inclusion(i as usize);
        assert_eq!(proof, to_hashes(want.as_bytes()), "inclusion {i} of {size}");
        verify_inclusion(&leaf_hash(&entry(i)), i, size, &proof, &root).unwrap();
    }
    for old in olds {
        let proof = ours.consistency_proof(old, size).unwrap();
        let want = oracle.prove_consistency((size - old) as usize);
        assert_eq!(proof, to_hashes(want.as_bytes()), "consistency {old}->{size}");
        let old_root = ours.root_at(old).unwrap();
        verify_consistency(old, size, &old_root, &root, &proof).unwrap();
    }
}

#[test]
fn matches_ct_merkle_for_all_small_sizes() {
    let mut ours = MemoryTree::new();
    let mut oracle = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    for n in 1..=70u64 {
        ours.append(&entry(n - 1));
        oracle.push(entry(n - 1));
        compare_with_oracle(&ours, &oracle, 0..n, 1..n);
    }
}

#[test]
fn matches_ct_merkle_for_random_larger_sizes() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut sizes = vec![255, 256, 257, 511, 1024, 1025];
    sizes.extend((0..6).map(|_| 300 + rng.below(3000)));
    sizes.sort_unstable();
    let mut ours = MemoryTree::new();
    let mut oracle = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    for size in sizes {
        while ours.size() < size {
            ours.append(&entry(ours.size()));
            oracle.push(entry(oracle.len()));
        }
        let idx: Vec<u64> = (0..40).map(|_| rng.below(size)).collect();
        let olds: Vec<u64> = (0..40).map(|_| 1 + rng.below(size - 1)).collect();
        compare_with_oracle(&ours, &oracle, idx.into_iter(), olds.into_iter());
    }
}

#[test]
fn plans_name_exactly_the_nodes_used() {
    // A source that holds only the planned nodes must suffice.
    let t = {
        let mut t = MemoryTree::new();
        for i in 0..100 {
            t.append(&entry(i));
        }
        t
    };
    let only =
        |plan: Vec<NodeId>| -> HashMap<NodeId, Hash> { plan.into_iter().map(|id| (id, t.node(id).unwrap())).collect() };
    for size in [1, 2, 37, 64, 100] {
        assert_eq!(tree::root(size, &only(tree::root_plan(size))).unwrap(), t.root_at(size).unwrap());
        for index in [0, size / 2, size - 1] {
            let src = only(tree::inclusion_plan(index, size).unwrap());
            assert_eq!(tree::inclusion_proof(index, size, &src).unwrap(), t.inclusion_proof(index, size).unwrap());
        }
        for old in [1, size / 3 + 1, size] {
            let src = only(tree::consistency_plan(old, size).unwrap());
            assert_eq!(tree::consistency_proof(old, size, &src).unwrap(), t.consistency_proof(old, size).unwrap());
        }
    }
}

#[test]
fn append_plan_drives_a_sparse_store() {
    // Mimic the database: a map of complete nodes filled only via the plans.
    let mut store: HashMap<NodeId, Hash> = HashMap::new();
    let mut reference = MemoryTree::new();
    for i in 0..300u64 {
        let siblings: Vec<Hash> = tree::append_plan(i).into_iter().map(|id| store[&id]).collect();
        let lh = leaf_hash(&entry(i));
        for (id, hash) in tree::append_nodes(i, lh, &siblings).unwrap() {
            assert!(store.insert(id, hash).is_none(), "node {id:?} rewritten");
        }
        reference.append(&entry(i));
        let src = FnSource(|id| store.get(&id).copied());
        assert_eq!(tree::root(i + 1, &src).unwrap(), reference.root());
    }
}

#[test]
fn inclusion_rejects_tampering() {
    let t = ct_tree();
    let size = 7;
    let root = t.root_at(size).unwrap();
    for index in 0..size {
        let leaf = leaf_hash(&hex::decode(CT_LEAVES[index as usize]).unwrap());
        let proof = t.inclusion_proof(index, size).unwrap();
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
        let bad = |r: Result<(), TreeError>| assert!(r.is_err(), "index {index}");
        bad(verify_inclusion(&leaf, index ^ 1, size, &proof, &root));
        bad(verify_inclusion(&leaf, index, size, &proof, &t.root_at(6).unwrap()));
        // Sizes that change the path shape (a size with the same shape for
        // this index, e.g. 8 for index 0, legitimately verifies).
        bad(verify_inclusion(&leaf, index, size * 2, &proof, &root));
        bad(verify_inclusion(&leaf, index, size / 2, &proof, &root));
        bad(verify_inclusion(&leaf, index, size, &proof[1..], &root));
        bad(verify_inclusion(&leaf, index, size, &[proof.clone(), vec![root]].concat(), &root));
        bad(verify_inclusion(&leaf_hash(b"x"), index, size, &proof, &root));
        for k in 0..proof.len() {
            let mut p = proof.clone();
            p[k][0] ^= 8;
            bad(verify_inclusion(&leaf, index, size, &p, &root));
        }
    }
    assert!(verify_inclusion(&root, 7, 7, &[], &root).is_err());
}

#[test]
fn consistency_rejects_tampering() {
    let t = ct_tree();
    for new in 2..=8u64 {
        for old in 1..new {
            let (r1, r2) = (t.root_at(old).unwrap(), t.root_at(new).unwrap());
            let proof = t.consistency_proof(old, new).unwrap();
            verify_consistency(old, new, &r1, &r2, &proof).unwrap();
            let bad = |r: Result<(), TreeError>| assert!(r.is_err(), "{old}->{new}");
            bad(verify_consistency(old, new, &r2, &r1, &proof));
            bad(verify_consistency(old, new, &r1, &r1, &proof));
            bad(verify_consistency(old, new, &r1, &r2, &[]));
            bad(verify_consistency(old, new, &r1, &r2, &proof[..proof.len() - 1]));
            bad(verify_consistency(old, new, &r1, &r2, &[proof.clone(), vec![r1]].concat()));
            bad(verify_consistency(old + 1, new, &r1, &r2, &proof));
            bad(verify_consistency(old, new * 2, &r1, &r2, &proof));
            bad(verify_consistency(old, new / 2, &r1, &r2, &proof));
            for k in 0..proof.len() {
                let mut p = proof.clone();
                p[k][0] ^= 16;
                bad(verify_consistency(old, new, &r1, &r2, &p));
            }
        }
    }
    let r = t.root_at(5).unwrap();
    verify_consistency(5, 5, &r, &r, &[]).unwrap();
    verify_consistency(0, 5, &empty_root(), &r, &[]).unwrap();
    assert!(verify_consistency(0, 5, &r, &r, &[]).is_err());
    assert!(verify_consistency(5, 5, &r, &empty_root(), &[]).is_err());
    assert!(verify_consistency(6, 5, &r, &r, &[r]).is_err());
}
