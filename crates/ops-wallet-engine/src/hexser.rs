//! Serde helpers: byte strings as lowercase hex, so stored records stay readable JSON
//! (what the IndexedDB store keeps) and round-trip exactly.

use serde::{Deserialize, Deserializer, Serializer};

/// One byte string as hex.
pub mod bytes {
    use super::*;

    /// Writes `v` as hex.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&ops_core::ids::to_hex(v))
    }

    /// Reads hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        ops_core::ids::from_hex(&s).ok_or_else(|| serde::de::Error::custom("invalid hex"))
    }
}

/// A list of byte strings as a list of hex strings.
pub mod list {
    use super::*;

    /// Writes `v` as a list of hex strings.
    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|b| ops_core::ids::to_hex(b)))
    }

    /// Reads a list of hex strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| {
                ops_core::ids::from_hex(s).ok_or_else(|| serde::de::Error::custom("invalid hex"))
            })
            .collect()
    }
}

/// An optional byte string as hex or `null`.
pub mod option {
    use super::*;

    /// Writes `v` as hex, or `null`.
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&ops_core::ids::to_hex(b)),
            None => s.serialize_none(),
        }
    }

    /// Reads hex or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => ops_core::ids::from_hex(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("invalid hex")),
            None => Ok(None),
        }
    }
}
