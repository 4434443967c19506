//! A field that can be absent, explicitly `null`, or set.
//!
//! Several session fields give `null` a meaning of its own: `turn_detection: null` switches
//! to manual turn taking, `transcription: null` turns input transcription off, and so on. A
//! `session.update` that leaves the field out must keep the current value instead. A plain
//! `Option` cannot tell those two apart, so these fields use [`Nullable`].
//!
//! Serde use: put `#[serde(default, skip_serializing_if = "Nullable::is_absent")]` on the
//! field. `Absent` is then written as nothing, `Null` as `null`, `Value(v)` as `v`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Tri-state field: left out, explicitly `null`, or holding a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Nullable<T> {
    /// The key was not present. In a partial update this means "keep what you have".
    #[default]
    Absent,
    /// The key was present with the value `null`. In a partial update this means "clear it".
    Null,
    /// The key was present with a value.
    Value(T),
}

impl<T> Nullable<T> {
    /// True when the key was left out; used by `skip_serializing_if`.
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// True when the key was an explicit `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The value, if one is set (neither absent nor null).
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }

    /// Mutable access to the value, if one is set.
    pub fn as_value_mut(&mut self) -> Option<&mut T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }

    /// Converts into an `Option`, folding `Absent` and `Null` into `None`.
    pub fn into_option(self) -> Option<T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }

    /// Converts to the `Option<Option<T>>` form: `None` = absent, `Some(None)` = null.
    pub fn into_nested_option(self) -> Option<Option<T>> {
        match self {
            Self::Absent => None,
            Self::Null => Some(None),
            Self::Value(v) => Some(Some(v)),
        }
    }

    /// Borrowing version of the field.
    pub fn as_ref(&self) -> Nullable<&T> {
        match self {
            Self::Absent => Nullable::Absent,
            Self::Null => Nullable::Null,
            Self::Value(v) => Nullable::Value(v),
        }
    }

    /// Maps the value, keeping `Absent` and `Null` as they are.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Nullable<U> {
        match self {
            Self::Absent => Nullable::Absent,
            Self::Null => Nullable::Null,
            Self::Value(v) => Nullable::Value(f(v)),
        }
    }

    /// Applies a partial update: `Absent` keeps `self`, `Null` clears it, `Value` replaces it.
    pub fn merge_from(&mut self, update: &Self)
    where
        T: Clone,
    {
        match update {
            Self::Absent => {}
            Self::Null => *self = Self::Null,
            Self::Value(v) => *self = Self::Value(v.clone()),
        }
    }

    /// `self` if it is not absent, otherwise `other` (used when two spellings of the same
    /// field may both appear, such as the GA and beta names).
    pub fn or(self, other: Self) -> Self {
        if self.is_absent() { other } else { self }
    }
}

impl<T> From<Option<T>> for Nullable<T> {
    /// `None` becomes an explicit `Null`.
    fn from(value: Option<T>) -> Self {
        match value {
            Some(v) => Self::Value(v),
            None => Self::Null,
        }
    }
}

impl<T: Serialize> Serialize for Nullable<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // `Absent` should have been skipped by `skip_serializing_if`; if it was not,
            // `null` is the closest honest spelling.
            Self::Absent | Self::Null => serializer.serialize_none(),
            Self::Value(v) => v.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(v) => Self::Value(v),
            None => Self::Null,
        })
    }
}
