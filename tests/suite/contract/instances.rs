//! Response instances generated from the fragment's schemas, and the check that what the facade
//! decoded carries the same values.

use serde_json::{Map, Value, json};

use super::fragment::Fragment;

/// The first integer the generator hands out: above `u32::MAX`, so a timestamp squeezed through
/// 32 bits anywhere would come back different. Each integer after it is one more, so values that
/// end up in the wrong field are noticed too.
pub const FIRST_INTEGER: i64 = 1_700_000_000_123;
/// The property added to every object in [`Shape::Surprising`] instances.
pub const UNKNOWN_PROPERTY: &str = "x_field_added_by_clerk_later";

/// Which fields a generated instance carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Only the required properties.
    RequiredOnly,
    /// Every declared property, with a value.
    EveryField,
    /// Every declared property; `null` for each nullable one.
    NullWhereNullable,
    /// Every declared property, plus an undeclared property on every object with declared
    /// properties and an undocumented value for every enum.
    Surprising,
}

/// An instance of `schema` of the given shape. Strings name their place in the document
/// (`data[1].roles[0].key`), so every string is different too.
pub fn generate(fragment: &Fragment, schema: &Value, shape: Shape) -> Value {
    let mut generator = Generator {
        fragment,
        shape,
        next_integer: FIRST_INTEGER,
    };
    generator.value(schema, "$")
}

struct Generator<'f> {
    fragment: &'f Fragment,
    shape: Shape,
    next_integer: i64,
}

impl Generator<'_> {
    fn value(&mut self, schema: &Value, path: &str) -> Value {
        let schema = self.fragment.resolve(schema);
        if self.shape == Shape::NullWhereNullable && schema["nullable"] == true {
            return Value::Null;
        }
        // A one-member `allOf` only wraps a reference, to hang `nullable` or a description on it.
        if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            return self.value(only, path);
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return match self.shape {
                Shape::Surprising => json!(format!("undocumented value at {path}")),
                _ => values.first().cloned().expect("an enum lists a value"),
            };
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => json!(path),
            Some("integer") => self.integer(schema),
            Some("number") => json!(0.5),
            Some("boolean") => json!(true),
            Some("array") => {
                let items = &schema["items"];
                json!([
                    self.value(items, &format!("{path}[0]")),
                    self.value(items, &format!("{path}[1]"))
                ])
            }
            Some("object") | None => self.object(schema, path),
            Some(other) => panic!("no generator for type {other} at {path}"),
        }
    }

    fn integer(&mut self, schema: &Value) -> Value {
        let mut value = self.next_integer;
        self.next_integer += 1;
        if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
            value = value.min(max);
        }
        if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
            value = value.max(min);
        }
        json!(value)
    }

    fn object(&mut self, schema: &Value, path: &str) -> Value {
        let (properties, required) = self.fragment.object_properties(schema);
        let mut object = Map::new();
        for (name, property) in &properties {
            if self.shape != Shape::RequiredOnly || required.contains(name) {
                let value = self.value(property, &format!("{path}.{name}"));
                object.insert((*name).to_owned(), value);
            }
        }
        match schema.get("additionalProperties") {
            // A map: two entries of the value schema.
            Some(entries @ Value::Object(_)) => {
                for key in ["first", "second"] {
                    let value = self.value(entries, &format!("{path}.{key}"));
                    object.insert(key.to_owned(), value);
                }
            }
            // Free-form: anything goes.
            Some(Value::Bool(true)) => {
                object.insert(
                    "free_form".to_owned(),
                    json!({"at": path, "list": [1, "two", null]}),
                );
            }
            _ => {}
        }
        if self.shape == Shape::Surprising && !properties.is_empty() {
            object.insert(
                UNKNOWN_PROPERTY.to_owned(),
                json!({"at": path, "list": [1, "two", null]}),
            );
        }
        Value::Object(object)
    }
}

/// Where `decoded` (the facade's value, serialized again) differs from `sent` (what the server
/// sent), walking `schema`: every declared value must come back equal, a `null` may come back
/// absent, and undeclared properties may be dropped.
pub fn lost_values(
    fragment: &Fragment,
    schema: &Value,
    sent: &Value,
    decoded: Option<&Value>,
) -> Vec<String> {
    let mut problems = Vec::new();
    compare(fragment, schema, sent, decoded, "$", &mut problems);
    problems
}

fn compare(
    fragment: &Fragment,
    schema: &Value,
    sent: &Value,
    decoded: Option<&Value>,
    path: &str,
    problems: &mut Vec<String>,
) {
    let schema = fragment.resolve(schema);
    match (sent, decoded) {
        (Value::Null, None | Some(Value::Null)) => {}
        (Value::Object(sent), Some(Value::Object(decoded))) => {
            let (properties, _) = fragment.object_properties(schema);
            let open = schema
                .get("additionalProperties")
                .is_some_and(|a| a != &json!(false));
            for (name, value) in sent {
                let at = format!("{path}.{name}");
                match properties.get(name.as_str()) {
                    Some(property) => {
                        compare(fragment, property, value, decoded.get(name), &at, problems)
                    }
                    // Undeclared, and not an entry of a map: the facade may drop it.
                    None if !open || name == UNKNOWN_PROPERTY => {}
                    // An entry of a map or a free-form object: kept as it is.
                    None if decoded.get(name) != Some(value) => {
                        problems.push(format!("{at}: sent {value}, got {:?}", decoded.get(name)));
                    }
                    None => {}
                }
            }
        }
        (Value::Array(sent), Some(Value::Array(decoded))) if sent.len() == decoded.len() => {
            for (i, (value, back)) in sent.iter().zip(decoded).enumerate() {
                compare(
                    fragment,
                    &schema["items"],
                    value,
                    Some(back),
                    &format!("{path}[{i}]"),
                    problems,
                );
            }
        }
        (sent, decoded) if decoded == Some(sent) => {}
        (sent, decoded) => problems.push(format!("{path}: sent {sent}, got {decoded:?}")),
    }
}
