//! The vendored OpenAPI fragment, read at test time: its operations, and its schemas translated
//! from OpenAPI 3.0 to JSON Schema for a real validator.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// Where the two translated copies of `components/schemas` live for the validator.
const REQUESTS_URL: &str = "urn:clerk-rbac:requests";
const RESPONSES_URL: &str = "urn:clerk-rbac:responses";
/// How the fragment refers to its schemas.
const SCHEMA_REF_PREFIX: &str = "#/components/schemas/";

/// `openapi/clerk-rbac.json` as parsed JSON.
pub struct Fragment {
    doc: Value,
}

/// One operation as the fragment describes it, with its parameters' `$ref`s resolved.
#[derive(Clone, Debug)]
pub struct Operation {
    pub id: String,
    /// Upper case, as on the wire.
    pub method: String,
    /// The path template relative to the server URL, e.g. `/organization_roles/{organization_role_id}`.
    pub template: String,
    pub parameters: Vec<Parameter>,
    /// The JSON request body's schema (OpenAPI flavour, possibly a `$ref`).
    pub request_body: Option<Value>,
    /// Status code → the JSON response schema (OpenAPI flavour), for every documented status.
    pub responses: BTreeMap<u16, Value>,
}

#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    pub required: bool,
    pub schema: Value,
}

impl Operation {
    pub fn parameters_in<'a>(&'a self, location: &'a str) -> impl Iterator<Item = &'a Parameter> {
        self.parameters
            .iter()
            .filter(move |p| p.location == location)
    }

    /// The documented success response's schema (the one 2xx status).
    pub fn success_schema(&self) -> &Value {
        let mut ok = self
            .responses
            .iter()
            .filter(|(status, _)| (200..300).contains(*status));
        let (_, schema) = ok
            .next()
            .unwrap_or_else(|| panic!("{} documents no 2xx response", self.id));
        assert!(
            ok.next().is_none(),
            "{} documents several 2xx responses",
            self.id
        );
        schema
    }

    /// The documented error statuses (4xx and 5xx).
    pub fn error_statuses(&self) -> Vec<u16> {
        self.responses
            .keys()
            .copied()
            .filter(|s| *s >= 400)
            .collect()
    }
}

impl Fragment {
    pub fn load() -> Self {
        let doc = serde_json::from_str(clerk_rbac::OPENAPI_FRAGMENT)
            .unwrap_or_else(|e| panic!("parsing openapi/clerk-rbac.json: {e}"));
        Fragment { doc }
    }

    /// `info.version`: the value of the `Clerk-API-Version` header.
    pub fn api_version(&self) -> &str {
        self.doc["info"]["version"]
            .as_str()
            .expect("info.version is a string")
    }

    /// The path part of the first server URL (`/v1`), which every operation path follows.
    pub fn base_path(&self) -> &str {
        let url = self.doc["servers"][0]["url"]
            .as_str()
            .expect("servers[0].url is a string");
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        after_scheme
            .find('/')
            .map_or("", |at| &after_scheme[at..])
            .trim_end_matches('/')
    }

    /// A named schema under `components/schemas` (OpenAPI flavour).
    pub fn schema(&self, name: &str) -> &Value {
        let schema = &self.doc["components"]["schemas"][name];
        assert!(
            schema.is_object(),
            "components/schemas/{name} is not in the fragment"
        );
        schema
    }

    /// Follows `$ref`s (local JSON pointers) until a node that is not one.
    pub fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("non-local $ref {reference}"));
            node = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        }
        node
    }

    /// Every operation, in the fragment's order (paths, then methods).
    pub fn operations(&self) -> Vec<Operation> {
        let paths = self.doc["paths"].as_object().expect("paths is an object");
        let mut operations = Vec::new();
        for (template, item) in paths {
            let shared = item
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (method, operation) in item.as_object().expect("a path item is an object") {
                if ![
                    "get", "put", "post", "delete", "patch", "head", "options", "trace",
                ]
                .contains(&method.as_str())
                {
                    continue;
                }
                operations.push(self.operation_at(template, method, operation, &shared));
            }
        }
        operations
    }

    pub fn operation(&self, id: &str) -> Operation {
        self.operations()
            .into_iter()
            .find(|op| op.id == id)
            .unwrap_or_else(|| panic!("operation {id} is not in the fragment"))
    }

    fn operation_at(
        &self,
        template: &str,
        method: &str,
        operation: &Value,
        shared: &[Value],
    ) -> Operation {
        let id = operation["operationId"]
            .as_str()
            .expect("every operation has an operationId")
            .to_owned();
        let own = operation
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let parameters = shared
            .iter()
            .chain(&own)
            .map(|p| {
                let p = self.resolve(p);
                Parameter {
                    name: p["name"].as_str().expect("parameter name").to_owned(),
                    location: p["in"].as_str().expect("parameter location").to_owned(),
                    required: p["required"] == true,
                    schema: p["schema"].clone(),
                }
            })
            .collect();
        let json_schema = |holder: &Value| {
            let holder = self.resolve(holder);
            holder.pointer("/content/application~1json/schema").cloned()
        };
        let request_body = operation.get("requestBody").map(|body| {
            json_schema(body).unwrap_or_else(|| panic!("{id}: the request body is not JSON"))
        });
        let responses = operation["responses"]
            .as_object()
            .expect("responses is an object")
            .iter()
            .map(|(status, response)| {
                let status = status
                    .parse()
                    .unwrap_or_else(|_| panic!("{id}: response `{status}` is not a status code"));
                let schema = json_schema(response)
                    .unwrap_or_else(|| panic!("{id}: response {status} is not JSON"));
                (status, schema)
            })
            .collect();
        Operation {
            id,
            method: method.to_ascii_uppercase(),
            template: template.to_owned(),
            parameters,
            request_body,
            responses,
        }
    }

    /// The properties an object schema declares, with `allOf` parts merged and `$ref`s followed:
    /// (property name → its schema, the required names).
    pub fn object_properties<'a>(
        &'a self,
        schema: &'a Value,
    ) -> (BTreeMap<&'a str, &'a Value>, Vec<&'a str>) {
        let schema = self.resolve(schema);
        let mut properties = BTreeMap::new();
        let mut required = Vec::new();
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (more, more_required) = self.object_properties(part);
            properties.extend(more);
            required.extend(more_required);
        }
        for (name, property) in schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            properties.insert(name.as_str(), property);
        }
        required.extend(
            schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        );
        (properties, required)
    }
}

/// Which way a JSON document travels, which decides how strict its schema is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the client: every object is closed (`additionalProperties: false` unless the
    /// fragment says otherwise), since a client has no business sending undeclared fields.
    Request,
    /// Sent by Clerk: objects stay open, as the fragment writes them.
    Response,
}

impl Direction {
    fn base_url(self) -> &'static str {
        match self {
            Direction::Request => REQUESTS_URL,
            Direction::Response => RESPONSES_URL,
        }
    }
}

/// An OpenAPI 3.0 schema as JSON Schema (draft 2020-12):
/// - `nullable: true` becomes `type: [T, "null"]` (with `null` added to an `enum`), or
///   `anyOf: [<schema>, {"type": "null"}]` when there is no `type` (e.g. beside `allOf`);
/// - `$ref: #/components/schemas/X` points at `X` in the translated copy for `direction`;
/// - for requests, objects with `properties` and no `additionalProperties` are closed.
pub fn to_json_schema(schema: &Value, direction: Direction) -> Value {
    let Value::Object(keywords) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (keyword, value) in keywords {
        let translated = match keyword.as_str() {
            "nullable" => continue,
            "items" | "not" => to_json_schema(value, direction),
            "additionalProperties" if value.is_object() => to_json_schema(value, direction),
            "allOf" | "anyOf" | "oneOf" => Value::Array(
                value
                    .as_array()
                    .expect("a schema list")
                    .iter()
                    .map(|s| to_json_schema(s, direction))
                    .collect(),
            ),
            "properties" => Value::Object(
                value
                    .as_object()
                    .expect("properties is an object")
                    .iter()
                    .map(|(name, s)| (name.clone(), to_json_schema(s, direction)))
                    .collect(),
            ),
            "$ref" => {
                let reference = value.as_str().expect("$ref is a string");
                let name = reference
                    .strip_prefix(SCHEMA_REF_PREFIX)
                    .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
                json!(format!("{}#/$defs/{name}", direction.base_url()))
            }
            _ => value.clone(),
        };
        out.insert(keyword.clone(), translated);
    }
    if direction == Direction::Request
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties")
    {
        out.insert("additionalProperties".into(), json!(false));
    }
    if keywords.get("nullable") == Some(&json!(true)) {
        match out.get("type").cloned() {
            Some(Value::String(kind)) => {
                out.insert("type".into(), json!([kind, "null"]));
                if let Some(Value::Array(values)) = out.get_mut("enum") {
                    values.push(Value::Null);
                }
            }
            _ => return json!({"anyOf": [Value::Object(out), {"type": "null"}]}),
        }
    }
    Value::Object(out)
}

/// A JSON Schema validator (boon, draft 2020-12) loaded with the fragment's schemas.
pub struct Validator {
    compiler: boon::Compiler,
    schemas: boon::Schemas,
    added: usize,
}

impl Validator {
    pub fn new(fragment: &Fragment) -> Self {
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        let named = fragment.doc["components"]["schemas"]
            .as_object()
            .expect("components/schemas");
        for direction in [Direction::Request, Direction::Response] {
            let defs: Map<String, Value> = named
                .iter()
                .map(|(name, s)| (name.clone(), to_json_schema(s, direction)))
                .collect();
            compiler
                .add_resource(direction.base_url(), json!({ "$defs": defs }))
                .expect("the translated schemas load");
        }
        Validator {
            compiler,
            schemas: boon::Schemas::new(),
            added: 0,
        }
    }

    /// Checks `instance` against `schema` (OpenAPI flavour, translated for `direction`); the
    /// error lists every violation.
    pub fn validate(
        &mut self,
        schema: &Value,
        direction: Direction,
        instance: &Value,
    ) -> Result<(), String> {
        self.added += 1;
        let url = format!("urn:clerk-rbac:schema:{}", self.added);
        self.compiler
            .add_resource(&url, to_json_schema(schema, direction))
            .expect("a translated schema loads");
        let index = self
            .compiler
            .compile(&url, &mut self.schemas)
            .unwrap_or_else(|e| panic!("the fragment's schema {schema} does not compile: {e:#}"));
        self.schemas
            .validate(instance, index)
            .map_err(|e| e.to_string())
    }
}
