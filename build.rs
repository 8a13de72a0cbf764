//! Generates the low-level Clerk client from the vendored OpenAPI fragment.
//!
//! The fragment in `openapi/` is already normalized by `cargo xtask regen`; this script only
//! tells progenitor where our hand-written types stand in for generated ones:
//! - every named string enum becomes an open enum (unknown values decode to `Unknown(String)`),
//! - list responses become the generic `Page<T>`,
//! - PATCH bodies become the facade's update types, which can send an explicit `null`.

use std::{env, fs, path::Path};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TypeImpl};
use serde_json::Value;

const FRAGMENT: &str = "openapi/clerk-rbac.json";

/// Generated list wrappers and the item type each page carries.
const PAGES: &[(&str, &str)] = &[
    ("Permissions", "Permission"),
    ("Roles", "Role"),
    ("RoleSets", "RoleSet"),
];

/// PATCH bodies that the facade writes by hand, so that a field can be cleared with `null`.
const UPDATE_BODIES: &[(&str, &str)] = &[
    (
        "UpdateOrganizationPermissionBody",
        "crate::UpdatePermission",
    ),
    ("UpdateOrganizationRoleBody", "crate::UpdateRole"),
    ("UpdateRoleSetBody", "crate::UpdateRoleSet"),
];

fn main() {
    println!("cargo:rerun-if-changed={FRAGMENT}");
    println!("cargo:rerun-if-changed=build.rs");

    let text = fs::read_to_string(FRAGMENT).unwrap_or_else(|e| panic!("reading {FRAGMENT}: {e}"));
    let raw: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{FRAGMENT}: {e}"));
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(raw.clone()).unwrap_or_else(|e| panic!("{FRAGMENT}: {e}"));

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_inner_type(quote::quote!(crate::hooks::Hooks))
        .with_hooks(HooksMode::Expected)
        .with_derive("PartialEq")
        // Deterministic key order on the wire and in Debug output.
        .with_map_type("::std::collections::BTreeMap");

    // `schemars::JsonSchema` only for builds that ask for it: it is a second `syn` in every
    // dependent's build, and only the `schemars` feature's users (and the suite) need it.
    if env::var_os("CARGO_FEATURE_SCHEMARS").is_some() {
        settings.with_derive("schemars::JsonSchema");
    }

    let mut open_enums = String::new();
    for (name, schema) in raw["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if let Some(values) = open_enum_values(schema) {
            open_enums.push_str(&open_enum_invocation(name, &values));
            settings.with_replacement(name, format!("crate::{name}"), no_impls());
        }
    }
    for (list, item) in PAGES {
        settings.with_replacement(list, format!("crate::Page<types::{item}>"), no_impls());
    }
    for (body, facade_type) in UPDATE_BODIES {
        settings.with_replacement(body, facade_type, no_impls());
    }

    let tokens = Generator::new(&settings)
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor could not generate a client from {FRAGMENT}: {e}"));
    let mut file = syn::parse2(tokens).expect("progenitor emitted code that does not parse");
    hide_constructors(&mut file);
    document_generated_gaps(&mut file);
    let code = use_our_path_encoder(prettyplease::unparse(&file));
    let code = send_the_version_as_clerk_reads_it(code);
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out = Path::new(&out_dir);
    write(&out.join("clerk_api.rs"), &code);
    write(&out.join("open_enums.rs"), &open_enums);
}

/// `Client::new` and `Client::new_with_client` take the hooks' settings, which only
/// `ClerkBuilder` can make; hidden from the docs so that nobody is invited to call them.
fn hide_constructors(file: &mut syn::File) {
    let mut hidden = 0;
    for item in &mut file.items {
        let syn::Item::Impl(block) = item else {
            continue;
        };
        let is_client = block.trait_.is_none()
            && matches!(&*block.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if !is_client {
            continue;
        }
        for member in &mut block.items {
            if let syn::ImplItem::Fn(function) = member
                && ["new", "new_with_client"].contains(&function.sig.ident.to_string().as_str())
            {
                function.attrs.push(syn::parse_quote!(#[doc(hidden)]));
                hidden += 1;
            }
        }
    }
    assert_eq!(hidden, 2, "progenitor's Client constructors were not found");
}

/// What the one field of each newtype model holds. OpenAPI has no place for a description of
/// the value a newtype wraps, so typify leaves the field undocumented; a newtype the fragment
/// adds later gets the general sentence until it is named here.
const NEWTYPE_FIELDS: &[(&str, &str)] = &[(
    "ReassignmentMappings",
    "Each old role key mapped to the role key its members move to.",
)];

/// Gives the field of every generated newtype (`pub struct Name(pub T)`) and each variant of a
/// generated closed enum a doc comment, so that every public item has one on its rendered page.
fn document_generated_gaps(file: &mut syn::File) {
    let Some(types) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == "types" => module.content.as_mut(),
        _ => None,
    }) else {
        panic!("progenitor no longer emits a `types` module: update build.rs");
    };
    for item in &mut types.1 {
        if let syn::Item::Enum(closed) = item {
            document_variants(closed);
            continue;
        }
        let syn::Item::Struct(newtype) = item else {
            continue;
        };
        let syn::Fields::Unnamed(fields) = &mut newtype.fields else {
            continue;
        };
        let name = newtype.ident.to_string();
        let text = NEWTYPE_FIELDS
            .iter()
            .find(|(type_name, _)| *type_name == name)
            .map_or(
                "The value this type wraps, as it is sent and received.",
                |(_, text)| text,
            );
        for field in &mut fields.unnamed {
            field.attrs.push(syn::parse_quote!(#[doc = #text]));
        }
    }
}

/// Gives each variant of a generated (closed) string enum the wire value it stands for:
/// OpenAPI has no per-value descriptions, and the enum's own doc says what the values mean.
fn document_variants(closed: &mut syn::ItemEnum) {
    for variant in &mut closed.variants {
        if variant.attrs.iter().any(|a| a.path().is_ident("doc")) {
            continue;
        }
        let mut wire = variant.ident.to_string();
        for attr in variant.attrs.iter().filter(|a| a.path().is_ident("serde")) {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    wire = meta.value()?.parse::<syn::LitStr>()?.value();
                }
                Ok(())
            });
        }
        let text = format!("`\"{wire}\"` on the wire.");
        variant.attrs.push(syn::parse_quote!(#[doc = #text]));
    }
}

/// Path parameters go through `crate::path::encode_segment` (which escapes every byte RFC 3986
/// does not allow in a segment) instead of progenitor's `encode_path` (which leaves `[ ] ^ |`
/// and `\` as they are).
fn use_our_path_encoder(code: String) -> String {
    const THEIRS: &str = "encode_path(";
    assert!(
        code.contains(THEIRS),
        "progenitor no longer calls encode_path: update build.rs"
    );
    code.replace(THEIRS, "crate::path::encode_segment(")
}

/// Progenitor sends the fragment's `info.version` in an `api-version` header, which Clerk does
/// not read; Clerk reads the same value from `Clerk-API-Version`. Renaming the header where
/// progenitor builds it sends exactly what Clerk expects, with nothing to remove per request.
fn send_the_version_as_clerk_reads_it(code: String) -> String {
    const THEIRS: &str = "HeaderName::from_static(\"api-version\")";
    assert!(
        code.contains(THEIRS),
        "progenitor no longer sends an api-version header: update build.rs and the hooks"
    );
    code.replace(THEIRS, "HeaderName::from_static(\"clerk-api-version\")")
}

fn no_impls() -> std::iter::Empty<TypeImpl> {
    std::iter::empty()
}

/// A named schema of `type: string` with an `enum` list: the values, in order.
fn open_enum_values(schema: &Value) -> Option<Vec<String>> {
    if schema["type"] != "string" {
        return None;
    }
    let values = schema["enum"].as_array()?;
    Some(
        values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
    )
}

/// One `open_enum!` invocation (the macro lives in `src/open_enum.rs`).
fn open_enum_invocation(name: &str, values: &[String]) -> String {
    let variants: String = values
        .iter()
        .map(|value| format!("    {} = {value:?},\n", pascal_case(value)))
        .collect();
    format!("crate::open_enum! {{\n    {name} {{\n{variants}    }}\n}}\n")
}

fn pascal_case(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

fn write(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
