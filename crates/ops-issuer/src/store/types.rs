//! Column types at the storage boundary: the core's identifiers (stored as lowercase hex
//! text), 0/1 integer flags (stored as `BIGINT` on both engines) and unsigned values
//! (stored as signed 64-bit integers). Rows derive `sqlx::FromRow` with these as fields;
//! what the store hands out carries the core's types. Fields of the core's types read
//! through these with `#[sqlx(try_from = "Hex<CertId>")]`, `#[sqlx(try_from = "Flag")]`
//! or `#[sqlx(try_from = "i64")]` (unsigned values).

use std::fmt;

use ops_core::{CertId, Digest32, NoteId, PublicKey};
use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Type};

/// A fixed-size identifier of the core, stored as its lowercase hex.
pub trait HexId: Copy + fmt::Display {
    /// What it is, for errors about a stored value that is not one.
    const WHAT: &'static str;

    /// The id with exactly these bytes; `None` for a wrong length.
    fn from_slice(bytes: &[u8]) -> Option<Self>;

    /// Parses stored (or user-given) hex; `None` if it is not hex of the right length.
    fn parse_hex(s: &str) -> Option<Self> {
        Self::from_slice(&ops_core::ids::from_hex(s)?)
    }
}

macro_rules! hex_id {
    ($($ty:ty => $what:expr),* $(,)?) => {$(
        impl HexId for $ty {
            const WHAT: &'static str = $what;

            fn from_slice(bytes: &[u8]) -> Option<Self> {
                Some(Self(bytes.try_into().ok()?))
            }
        }

        impl From<Hex<$ty>> for $ty {
            fn from(h: Hex<$ty>) -> Self {
                h.0
            }
        }
    )*};
}

hex_id!(
    CertId => "certificate id",
    NoteId => "note id",
    Digest32 => "digest",
    PublicKey => "public key",
);

/// A core id as a column: encoded as lowercase hex text, decoded (and checked) from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hex<T>(pub T);

impl<T: HexId> Type<Any> for Hex<T> {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'q, T: HexId> Encode<'q, Any> for Hex<T> {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Any>>::encode(self.0.to_string(), buf)
    }
}

impl<'r, T: HexId> Decode<'r, Any> for Hex<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<'r, Any>>::decode(value)?;
        T::parse_hex(&text)
            .map(Hex)
            .ok_or_else(|| format!("stored {} {text:?} is not valid hex", T::WHAT).into())
    }
}

/// A 0/1 flag stored as an integer (`BIGINT` on both engines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(pub bool);

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Flag(<i64 as Decode<'r, Any>>::decode(value)? != 0))
    }
}

impl From<Flag> for bool {
    fn from(f: Flag) -> Self {
        f.0
    }
}

/// Lowercase hex of an id, as stored (for SQL built from several ids, e.g. `IN` lists).
pub(crate) fn hex<T: HexId>(id: &T) -> String {
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_back_from_their_hex() {
        let id = CertId([7; 16]);
        assert_eq!(CertId::parse_hex(&hex(&id)), Some(id));
        assert_eq!(CertId::parse_hex(&"07".repeat(32)), None);
        assert_eq!(NoteId::parse_hex("zz"), None);
        let key = PublicKey([2; 33]);
        assert_eq!(PublicKey::parse_hex(&key.to_string()), Some(key));
    }
}
