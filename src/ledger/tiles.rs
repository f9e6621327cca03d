//! C2SP tlog-tiles: tile paths, tile contents and entry bundles.
//!
//! Tiles have height 8: hash tile `(L, N)` lists up to 256 consecutive
//! complete-node hashes at tree level `8·L`, starting at node index `N·256`.
//! A tile of fewer than 256 hashes is partial and named with `.p/<W>`.
//! Paths here are relative to the log prefix (`/log/` in bidroom).

use super::hash::{HASH_LEN, Hash};
use super::tree::NodeId;

/// Tile height: each tile spans 8 tree levels.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Largest entry an entry bundle can carry (16-bit length prefix).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;
/// Largest tile level allowed in a path.
const MAX_PATH_LEVEL: u8 = 63;

/// Errors from tile paths and tile encodings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// A path that is not a canonical tile or entry-bundle path.
    #[error("malformed tile path: {0}")]
    BadPath(&'static str),
    /// A tile whose level lies beyond any 64-bit tree.
    #[error("tile level {0} is beyond the tree")]
    LevelTooHigh(u8),
    /// An entry too long for the 16-bit length prefix.
    #[error("entry of {0} bytes is too long for an entry bundle")]
    EntryTooLong(usize),
    /// Tile or bundle bytes that do not decode.
    #[error("malformed tile data: {0}")]
    BadData(&'static str),
}

/// A tile resource: a hash tile or an entry bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tile {
    /// `tile/<level>/<index>[.p/<width>]`.
    Hashes {
        /// Tile level `L` (tree level `8·L`).
        level: u8,
        /// Tile index `N` within the level.
        index: u64,
        /// Number of hashes, 1..=256 (256 = full).
        width: u16,
    },
    /// `tile/entries/<index>[.p/<width>]`.
    Entries {
        /// Bundle index `N` (entries `N·256 ..`).
        index: u64,
        /// Number of entries, 1..=256 (256 = full).
        width: u16,
    },
}

/// Encodes a tile index as 3-digit groups, all but the last prefixed `x`:
/// 1234067 → `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn suffix(width: u16) -> String {
    if u64::from(width) == TILE_WIDTH { String::new() } else { format!(".p/{width}") }
}

impl Tile {
    /// The path of this tile relative to the log prefix.
    pub fn path(&self) -> String {
        match *self {
            Tile::Hashes { level, index, width } => format!("tile/{level}/{}{}", encode_index(index), suffix(width)),
            Tile::Entries { index, width } => {
                format!("tile/entries/{}{}", encode_index(index), suffix(width))
            }
        }
    }

    /// Parses a path relative to the log prefix, accepting only the
    /// canonical form [`Tile::path`] produces.
    pub fn parse(path: &str) -> Result<Self, TileError> {
        let bad = TileError::BadPath;
        let rest = path.strip_prefix("tile/").ok_or(bad("missing tile/"))?;
        let (kind, rest) = rest.split_once('/').ok_or(bad("missing index"))?;
        let (index_part, width) = match rest.split_once(".p/") {
            Some((idx, w)) => (idx, parse_width(w)?),
            None => (rest, TILE_WIDTH as u16),
        };
        let index = parse_index(index_part)?;
        let tile = if kind == "entries" {
            Tile::Entries { index, width }
        } else {
            let level = parse_decimal(kind).ok_or(bad("bad level"))?;
            let level = u8::try_from(level).ok().filter(|l| *l <= MAX_PATH_LEVEL).ok_or(bad("level out of range"))?;
            Tile::Hashes { level, index, width }
        };
        // Re-encoding catches every non-canonical spelling at once.
        if tile.path() != path {
            return Err(bad("not canonical"));
        }
        Ok(tile)
    }

    /// Tile index `N`.
    pub fn index(&self) -> u64 {
        match *self {
            Tile::Hashes { index, .. } | Tile::Entries { index, .. } => index,
        }
    }

    /// Number of hashes or entries in the tile.
    pub fn width(&self) -> u16 {
        match *self {
            Tile::Hashes { width, .. } | Tile::Entries { width, .. } => width,
        }
    }

    /// Whether the tile is full (256 wide).
    pub fn is_full(&self) -> bool {
        u64::from(self.width()) == TILE_WIDTH
    }

    /// Whether a tree of `size` leaves holds everything this tile lists.
    /// Stored nodes never change, so a tile narrower than what is available
    /// is still exact.
    pub fn available_at(&self, size: u64) -> bool {
        let (shift, index) = match *self {
            Tile::Hashes { level, index, .. } => (u32::from(level) * 8, index),
            Tile::Entries { index, .. } => (0, index),
        };
        let have = size.checked_shr(shift).unwrap_or(0);
        index
            .checked_mul(TILE_WIDTH)
            .and_then(|start| start.checked_add(u64::from(self.width())))
            .is_some_and(|end| end <= have)
    }

    /// Leaf indices of the entries an entry bundle holds.
    pub fn entry_range(&self) -> Option<std::ops::Range<u64>> {
        match *self {
            Tile::Entries { index, width } => {
                let start = index.checked_mul(TILE_WIDTH)?;
                Some(start..start.checked_add(u64::from(width))?)
            }
            Tile::Hashes { .. } => None,
        }
    }

    /// The stored nodes a hash tile lists, in order: level `8·L`, indices
    /// `N·256 ..< N·256 + W`. `None` for entry bundles.
    pub fn nodes(&self) -> Result<Option<Vec<NodeId>>, TileError> {
        let Tile::Hashes { level, index, width } = *self else {
            return Ok(None);
        };
        let tree_level = level.checked_mul(TILE_HEIGHT).filter(|l| *l < 64).ok_or(TileError::LevelTooHigh(level))?;
        let start = index.checked_mul(TILE_WIDTH).ok_or(TileError::BadPath("index out of range"))?;
        Ok(Some((0..u64::from(width)).map(|i| NodeId::new(tree_level, start + i)).collect()))
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

fn parse_width(s: &str) -> Result<u16, TileError> {
    parse_decimal(s)
        .filter(|w| (1..TILE_WIDTH).contains(w))
        .map(|w| w as u16)
        .ok_or(TileError::BadPath("partial width must be 1..=255"))
}

fn parse_index(s: &str) -> Result<u64, TileError> {
    let bad = TileError::BadPath("bad index");
    let groups: Vec<&str> = s.split('/').collect();
    let (last, prefix) = groups.split_last().ok_or(bad.clone())?;
    let mut n: u64 = 0;
    // Leading "x000" groups are caught by the canonical re-encoding check.
    for group in prefix.iter().map(|g| g.strip_prefix('x')).chain([Some(*last)]) {
        let digits = group.filter(|d| d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()));
        let digits = digits.ok_or(bad.clone())?;
        let value: u64 = digits.parse().map_err(|_| bad.clone())?;
        n = n.checked_mul(1000).and_then(|n| n.checked_add(value)).ok_or(bad.clone())?;
    }
    Ok(n)
}

/// Tile bytes: the hashes concatenated.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Splits tile bytes back into hashes, checking the expected width.
pub fn decode_hash_tile(bytes: &[u8], width: u16) -> Result<Vec<Hash>, TileError> {
    if bytes.len() != usize::from(width) * HASH_LEN {
        return Err(TileError::BadData("tile length does not match its width"));
    }
    Ok(bytes
        .chunks_exact(HASH_LEN)
        .map(|c| {
            let mut h = [0u8; HASH_LEN];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// Entry bundle bytes: each entry as a big-endian u16 length and its bytes.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLong(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Parses entry bundle bytes into entries.
pub fn decode_entry_bundle(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, TileError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Some((len, rest)) = bytes.split_first_chunk::<2>() else {
            return Err(TileError::BadData("truncated length"));
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(TileError::BadData("truncated entry"));
        }
        let (entry, rest) = rest.split_at(len);
        out.push(entry.to_vec());
        bytes = rest;
    }
    Ok(out)
}
