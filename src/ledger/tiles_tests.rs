//! Tile path, content and bundle tests.

use super::hash::leaf_hash;
use super::memory::MemoryTree;
use super::tiles::*;
use super::tree::{NodeId, NodeSource};

#[test]
fn index_encoding_matches_spec_example() {
    assert_eq!(encode_index(1234067), "x001/x234/067");
    assert_eq!(encode_index(0), "000");
    assert_eq!(encode_index(999), "999");
    assert_eq!(encode_index(1000), "x001/000");
    assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
}

#[test]
fn paths_round_trip() {
    let cases = [
        (Tile::Hashes { level: 0, index: 1234067, width: 256 }, "tile/0/x001/x234/067"),
        (Tile::Hashes { level: 2, index: 5, width: 17 }, "tile/2/005.p/17"),
        (Tile::Entries { index: 273, width: 112 }, "tile/entries/273.p/112"),
        (Tile::Entries { index: 0, width: 256 }, "tile/entries/000"),
        (Tile::Hashes { level: 63, index: u64::MAX, width: 1 }, "tile/63/x018/x446/x744/x073/x709/x551/615.p/1"),
    ];
    for (tile, path) in cases {
        assert_eq!(tile.path(), path);
        assert_eq!(Tile::parse(path).unwrap(), tile);
    }
}

#[test]
fn malformed_paths_are_rejected() {
    for bad in [
        "",
        "tile",
        "tile/",
        "tile/0",
        "tile/0/",
        "tile/00/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/a/000",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/1",
        "tile/0/x000/001",
        "tile/0/001/002",
        "tile/0/y001/002",
        "tile/0/x1/002",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/017",
        "tile/0/000.p/",
        "tile/0/000.p/1/",
        "tile/0/000/",
        "/tile/0/000",
        "tile/entries/000.p/300",
        "tile/entry/000",
        "tile/entries/x018/x446/x744/x073/x709/x551/616",
        "tile/0/x001/x000/x000/x000/x000/x000/x000/000",
        "tile/0/+01",
    ] {
        assert!(Tile::parse(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn hash_tile_nodes_follow_the_spec_formula() {
    // Hash i of tile (L, N) is MTH(D[(N·256+i)·256^L : (N·256+i+1)·256^L]),
    // which is the stored node at level 8·L, index N·256+i.
    let t = Tile::Hashes { level: 1, index: 3, width: 2 };
    assert_eq!(t.nodes().unwrap().unwrap(), vec![NodeId::new(8, 768), NodeId::new(8, 769)]);
    let high = Tile::Hashes { level: 8, index: 0, width: 1 };
    assert_eq!(high.nodes(), Err(TileError::LevelTooHigh(8)));
    let bundle = Tile::Entries { index: 2, width: 3 };
    assert_eq!(bundle.nodes().unwrap(), None);
    assert_eq!(bundle.entry_range(), Some(512..515));

    // A level-1 hash is the root of the full level-0 tile below it.
    let mut tree = MemoryTree::new();
    for i in 0..512u64 {
        tree.append(&i.to_be_bytes());
    }
    let level0: Vec<_> = (0..256).map(|i| tree.node(NodeId::leaf(256 + i)).unwrap()).collect();
    let mut sub = MemoryTree::new();
    for h in level0 {
        sub.append_leaf_hash(h);
    }
    assert_eq!(tree.node(NodeId::new(8, 1)).unwrap(), sub.root());
}

#[test]
fn availability_matches_spec_example() {
    // Size 70,000: 273 full level-0 tiles and a partial one of width 112,
    // one full level-1 tile and a partial of 17, a partial level-2 of 1.
    let size = 70_000;
    let full0 = |index| Tile::Hashes { level: 0, index, width: 256 };
    assert!(full0(272).available_at(size));
    assert!(!full0(273).available_at(size));
    let p = |level, index, width| Tile::Hashes { level, index, width };
    assert!(p(0, 273, 112).available_at(size));
    assert!(!p(0, 273, 113).available_at(size));
    assert!(p(1, 0, 256).available_at(size));
    assert!(p(1, 1, 17).available_at(size));
    assert!(!p(1, 1, 18).available_at(size));
    assert!(p(2, 0, 1).available_at(size));
    assert!(!p(3, 0, 1).available_at(size));
    assert!(!p(40, 0, 1).available_at(size));
    assert!(Tile::Entries { index: 273, width: 112 }.available_at(size));
}

#[test]
fn tile_and_bundle_encodings() {
    let hashes = vec![leaf_hash(b"a"), leaf_hash(b"b")];
    let bytes = encode_hash_tile(&hashes);
    assert_eq!(bytes.len(), 64);
    assert_eq!(decode_hash_tile(&bytes, 2).unwrap(), hashes);
    assert!(decode_hash_tile(&bytes, 3).is_err());
    assert!(decode_hash_tile(&bytes[..63], 2).is_err());

    let entries: Vec<Vec<u8>> = vec![b"".to_vec(), b"ab".to_vec(), vec![7; 300]];
    let bundle = encode_entry_bundle(&entries).unwrap();
    assert_eq!(&bundle[..6], &[0, 0, 0, 2, b'a', b'b']);
    assert_eq!(&bundle[6..8], &[1, 44]);
    assert_eq!(decode_entry_bundle(&bundle).unwrap(), entries);
    assert!(decode_entry_bundle(&bundle[..bundle.len() - 1]).is_err());
    assert!(decode_entry_bundle(&[0]).is_err());
    assert_eq!(encode_entry_bundle(&[vec![0u8; MAX_ENTRY_LEN + 1]]), Err(TileError::EntryTooLong(MAX_ENTRY_LEN + 1)));
    assert!(encode_entry_bundle(&[vec![0u8; MAX_ENTRY_LEN]]).is_ok());
}
