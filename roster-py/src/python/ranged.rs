//! A deserializer that remembers which integer type a failed field asked for.
//!
//! pythonize reads an integer field by asking Python for the field's Rust
//! type and passes Python's `OverflowError` text on, which says neither
//! whether the number was too small or too large nor what the field allows.
//! [`Ranged`] wraps a deserializer and every deserializer nested in it; when
//! an integer field fails to read, it records that type's range, so that
//! the caller can say "must be zero or more" or give the maximum. Every
//! other call passes through unchanged.

use std::cell::Cell;
use std::fmt;

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use crate::checks::IntRange;

/// The range of the last integer field that failed to read, if any.
pub(crate) type Failed = Cell<Option<IntRange>>;

/// A deserializer, visitor, access or seed wrapped so that every integer
/// field read through it records its range in `failed` when it fails.
pub(crate) struct Ranged<'c, T> {
    inner: T,
    failed: &'c Failed,
}

impl<'c, T> Ranged<'c, T> {
    /// `inner`, recording into `failed`.
    pub(crate) fn new(inner: T, failed: &'c Failed) -> Ranged<'c, T> {
        Ranged { inner, failed }
    }
}

/// Passes a `deserialize_*` call through, wrapping its visitor.
macro_rules! forward {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.inner.$method(Ranged::new(visitor, self.failed))
        }
    )*};
}

/// Passes an integer `deserialize_*` call through, recording the range of
/// its type when it fails.
macro_rules! integer {
    ($($method:ident: $ty:ty)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            let failed = self.failed;
            self.inner
                .$method(Ranged::new(visitor, failed))
                .inspect_err(|_| failed.set(Some(IntRange::of::<$ty>())))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Ranged<'_, D> {
    type Error = D::Error;

    integer! {
        deserialize_i8: i8
        deserialize_i16: i16
        deserialize_i32: i32
        deserialize_i64: i64
        deserialize_u8: u8
        deserialize_u16: u16
        deserialize_u32: u32
        deserialize_u64: u64
    }

    forward! {
        deserialize_any deserialize_bool deserialize_i128 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner
            .deserialize_unit_struct(name, Ranged::new(visitor, self.failed))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner
            .deserialize_newtype_struct(name, Ranged::new(visitor, self.failed))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner
            .deserialize_tuple(len, Ranged::new(visitor, self.failed))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner
            .deserialize_tuple_struct(name, len, Ranged::new(visitor, self.failed))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner
            .deserialize_struct(name, fields, Ranged::new(visitor, self.failed))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner
            .deserialize_enum(name, variants, Ranged::new(visitor, self.failed))
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Passes a `visit_*` call with a plain value through.
macro_rules! visit {
    ($($method:ident: $ty:ty)*) => {$(
        fn $method<E: serde::de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Ranged<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    visit! {
        visit_bool: bool
        visit_i8: i8
        visit_i16: i16
        visit_i32: i32
        visit_i64: i64
        visit_i128: i128
        visit_u8: u8
        visit_u16: u16
        visit_u32: u32
        visit_u64: u64
        visit_u128: u128
        visit_f32: f32
        visit_f64: f64
        visit_char: char
        visit_str: &str
        visit_borrowed_str: &'de str
        visit_string: String
        visit_bytes: &[u8]
        visit_borrowed_bytes: &'de [u8]
        visit_byte_buf: Vec<u8>
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.inner
            .visit_some(Ranged::new(deserializer, self.failed))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.inner
            .visit_newtype_struct(Ranged::new(deserializer, self.failed))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(Ranged::new(seq, self.failed))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Ranged::new(map, self.failed))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(Ranged::new(data, self.failed))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Ranged<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.inner
            .deserialize(Ranged::new(deserializer, self.failed))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Ranged<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.inner.next_element_seed(Ranged::new(seed, self.failed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Ranged<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(Ranged::new(seed, self.failed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(Ranged::new(seed, self.failed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'c, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Ranged<'c, A> {
    type Error = A::Error;
    type Variant = Ranged<'c, A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let failed = self.failed;
        self.inner
            .variant_seed(Ranged::new(seed, failed))
            .map(|(value, variant)| (value, Ranged::new(variant, failed)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Ranged<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.inner
            .newtype_variant_seed(Ranged::new(seed, self.failed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner
            .tuple_variant(len, Ranged::new(visitor, self.failed))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner
            .struct_variant(fields, Ranged::new(visitor, self.failed))
    }
}
