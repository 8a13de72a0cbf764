//! Response enums that stay decodable when Clerk adds a value.
//!
//! `build.rs` invokes [`open_enum!`](crate::open_enum) once for every named string enum in the
//! fragment (`cargo xtask regen` names exactly the enums that appear in responses). Each becomes a
//! `#[non_exhaustive]` enum with one variant per documented value plus `Unknown(String)`, which
//! keeps any value this version of the crate has not heard of, so a new value on the server
//! never breaks decoding.

/// Defines an open string enum: known values as unit variants, anything else in `Unknown`.
#[doc(hidden)]
#[macro_export]
macro_rules! open_enum {
    ($name:ident { $($variant:ident = $value:literal,)+ }) => {
        #[doc = concat!("A `", stringify!($name), "` value as Clerk sends it.")]
        #[doc = ""]
        #[doc = "Values this version of the crate does not know decode to `Unknown`, keeping the"]
        #[doc = "original string, so a value Clerk adds later never fails a whole response."]
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("`\"", $value, "\"`")]
                $variant,
            )+
            /// A value Clerk sent that this version of the crate does not know.
            Unknown(String),
        }

        impl $name {
            /// The value exactly as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)+
                    Self::Unknown(other) => other,
                }
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($value => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                // Borrowing when possible, owning when the input is escaped or buffered.
                let value = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(Self::from(value.as_ref()))
            }
        }

        #[cfg(feature = "schemars")]
        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> String {
                stringify!($name).to_owned()
            }
            fn json_schema(generator: &mut ::schemars::r#gen::SchemaGenerator) -> ::schemars::schema::Schema {
                // Any string is accepted; the documented values are listed as examples.
                let mut schema = <String as ::schemars::JsonSchema>::json_schema(generator).into_object();
                schema.metadata().examples = vec![$(::serde_json::json!($value)),+];
                schema.into()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::RoleSetType;

    #[test]
    fn known_values_round_trip() {
        let decoded: RoleSetType = serde_json::from_str("\"custom\"").unwrap();
        assert_eq!(decoded, RoleSetType::Custom);
        assert_eq!(serde_json::to_string(&decoded).unwrap(), "\"custom\"");
    }

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let decoded: RoleSetType = serde_json::from_str("\"system\"").unwrap();
        assert_eq!(decoded, RoleSetType::Unknown("system".into()));
        assert_eq!(decoded.to_string(), "system");
        assert_eq!(serde_json::to_string(&decoded).unwrap(), "\"system\"");
    }

    #[test]
    fn escaped_strings_decode() {
        let decoded: RoleSetType = serde_json::from_str(r#""init\u0069al""#).unwrap();
        assert_eq!(decoded, RoleSetType::Initial);
    }
}
