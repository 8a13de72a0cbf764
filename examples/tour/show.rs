//! How the tour prints: the call as a user writes it, then what came back in plain words.

use clerk_rbac::{Permission, Role, RoleSet, RoleSetItem};

/// A section heading.
pub fn section(title: &str) {
    println!("\n== {title} ==");
}

/// The facade call about to be made, as it would appear in a program.
pub fn call(code: &str) {
    println!("\n{code}");
}

/// One line of what came back.
pub fn outcome(text: &str) {
    println!("    -> {text}");
}

/// A refusal, as a caller meets it: status, Clerk's error code and message.
pub fn refused(error: &clerk_rbac::Error) {
    let status = error
        .status()
        .map_or_else(|| "no answer".to_owned(), |s| s.as_u16().to_string());
    let code = error.code().unwrap_or("(no code)");
    let message = error
        .clerk_errors()
        .first()
        .map_or_else(|| error.to_string(), |e| e.long_message.clone());
    println!("    -> refused: {status} {code}");
    println!("       {message}");
}

/// An optional text: the text in quotes, or `none`.
pub fn text(value: Option<&str>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| format!("\"{v}\""))
}

pub fn permission(p: &Permission) -> String {
    let kind = p.type_.as_deref().unwrap_or("user");
    format!("{} {} \"{}\" ({kind})", p.id, p.key, p.name)
}

pub fn role(r: &Role) -> String {
    let keys: Vec<&str> = r.permissions.iter().map(|p| p.key.as_str()).collect();
    let held = if keys.is_empty() {
        "no permissions".to_owned()
    } else {
        keys.join(", ")
    };
    let creator = if r.is_creator_eligible {
        ", may create organizations"
    } else {
        ""
    };
    format!("{} {} \"{}\": {held}{creator}", r.id, r.key, r.name)
}

fn item_key(item: Option<&RoleSetItem>) -> &str {
    item.map_or("none", |i| i.key.as_str())
}

pub fn role_set(s: &RoleSet) -> String {
    format!(
        "{} {} \"{}\" ({}), roles {}; new members get {}, creators get {}",
        s.id,
        s.key,
        s.name,
        s.type_,
        roles_of(s),
        item_key(s.default_role.as_ref()),
        item_key(s.creator_role.as_ref()),
    )
}

/// `org:a (3 members), org:b` for the roles of a set.
pub fn roles_of(s: &RoleSet) -> String {
    s.roles
        .iter()
        .map(|r| match r.members_count {
            Some(n) if n > 0 => format!("{} ({})", r.key, members(n)),
            _ => r.key.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1 member`, `3 members`.
pub fn members(n: i64) -> String {
    count(n, "member")
}

/// `1 role`, `2 roles`, `0 role sets`.
pub fn count(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
