//! Comparing two live targets: how one instance differs from another, said in the plan's
//! vocabulary (what a plan would do to make the second like the first).

use std::collections::BTreeMap;

use futures::FutureExt;
use serde::Serialize;

use crate::{
    Change, ChangeAction, DesiredState, FieldChange, Fingerprint, Plan, Unmanaged, keys::Kind,
};

use super::{
    FleetTarget,
    run::{EnvFn, TargetError, TargetErrorKind},
};

/// How the instance of `to` differs from the instance of `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Comparison {
    /// The target compared from (the reference).
    pub from: String,
    /// The target compared to.
    pub to: String,
    /// What a plan would do to `to` to make it hold what `from` holds: `create` for what only
    /// `from` has, `update` (with `to`'s value → `from`'s) for what differs, `delete` for what
    /// only `to` has (role sets included, which Clerk can only retire). System permissions are
    /// left out.
    pub changes: Vec<Change>,
}

impl Comparison {
    /// Whether both instances hold the same RBAC.
    pub fn is_same(&self) -> bool {
        self.changes.is_empty()
    }

    /// The comparison as a person reads it, in the layout of a plan.
    pub fn render(&self, color: bool) -> String {
        if self.changes.is_empty() {
            return format!(
                "`{}` and `{}` hold the same permissions, roles and role sets.\n",
                self.from, self.to
            );
        }
        let shown = Plan {
            changes: self.changes.clone(),
            unmanaged: Unmanaged::default(),
            steps: Vec::new(),
            prune: true,
            fingerprint: Fingerprint::default(),
            findings: Vec::new(),
        };
        let text = shown.render(color);
        // The plan's last line counts requests, which a comparison does not send.
        let body = text
            .trim_end_matches('\n')
            .rsplit_once('\n')
            .map_or("", |(body, _)| body);
        let count = |action| self.changes.iter().filter(|c| c.action == action).count();
        format!(
            "To make `{to}` hold what `{from}` holds:\n\n{body}\n`{to}` differs from `{from}`: {} only in `{from}`, {} different, {} only in `{to}`.\n",
            count(ChangeAction::Create),
            count(ChangeAction::Update),
            count(ChangeAction::Delete),
            from = self.from,
            to = self.to,
        )
    }

    /// The comparison as JSON: `format_version`, `from`, `to`, `same` and `changes` (each as
    /// in a plan's `changes`).
    pub fn to_json(&self) -> String {
        let document = serde_json::json!({
            "format_version": super::FLEET_JSON_VERSION,
            "from": self.from,
            "to": self.to,
            "same": self.is_same(),
            "changes": self.changes,
        });
        let mut text = serde_json::to_string_pretty(&document)
            .unwrap_or_else(|e| unreachable!("a comparison always serializes: {e}"));
        text.push('\n');
        text
    }
}

/// Reads both targets' instances (at once, each with its own client) and compares them.
pub fn compare<'a>(
    from: &'a FleetTarget,
    to: &'a FleetTarget,
    env: &'a EnvFn,
) -> impl Future<Output = Result<Comparison, TargetError>> + Send + 'a {
    async move {
        let read = |target: &FleetTarget| {
            let env = env.clone();
            let target = target.clone();
            async move {
                let (clerk, _, _) = super::run::connect_target(&target, &env)?;
                crate::export(&clerk).await.map_err(|e| {
                    TargetError::new(
                        TargetErrorKind::Read,
                        format!("target `{}`: {e}", target.name),
                    )
                })
            }
        };
        let (a, b) = futures::future::join(read(from), read(to)).await;
        Ok(Comparison {
            from: from.name.clone(),
            to: to.name.clone(),
            changes: differences(&a?, &b?),
        })
    }
    .boxed()
}

fn value(field: &str, old: Option<&String>, new: Option<&String>) -> Option<FieldChange> {
    (old != new).then(|| FieldChange::Value {
        field: field.to_owned(),
        old: old.cloned(),
        new: new.cloned(),
    })
}

fn list(field: &str, old: &[String], new: &[String]) -> Option<FieldChange> {
    let mut added: Vec<String> = new.iter().filter(|k| !old.contains(k)).cloned().collect();
    let mut removed: Vec<String> = old.iter().filter(|k| !new.contains(k)).cloned().collect();
    added.sort();
    removed.sort();
    (!added.is_empty() || !removed.is_empty()).then(|| FieldChange::List {
        field: field.to_owned(),
        added,
        removed,
    })
}

fn change(kind: Kind, key: &str, action: ChangeAction, fields: Vec<FieldChange>) -> Change {
    Change {
        kind,
        key: key.to_owned(),
        action,
        renamed_from: None,
        fields,
        moves: BTreeMap::new(),
        into: None,
    }
}

/// Walks both tables of one kind: what only `want` has is created, what only `have` has is
/// deleted, what both have is compared field by field.
fn table<T>(
    kind: Kind,
    want: &BTreeMap<String, T>,
    have: &BTreeMap<String, T>,
    fields: impl Fn(Option<&T>, &T) -> Vec<FieldChange>,
    out: &mut Vec<Change>,
) {
    for (key, wanted) in want {
        match have.get(key) {
            None => out.push(change(
                kind,
                key,
                ChangeAction::Create,
                fields(None, wanted),
            )),
            Some(had) => {
                let differ = fields(Some(had), wanted);
                if !differ.is_empty() {
                    out.push(change(kind, key, ChangeAction::Update, differ));
                }
            }
        }
    }
    for key in have.keys().filter(|k| !want.contains_key(*k)) {
        out.push(change(kind, key, ChangeAction::Delete, Vec::new()));
    }
}

/// What a plan would change to turn `have` into `want`, both exports of live instances.
pub(crate) fn differences(want: &DesiredState, have: &DesiredState) -> Vec<Change> {
    let mut out = Vec::new();
    table(
        Kind::Permission,
        &want.permissions,
        &have.permissions,
        |had, wanted| {
            [
                value("name", had.map(|h| &h.name), Some(&wanted.name)),
                value(
                    "description",
                    had.and_then(|h| h.description.as_ref()),
                    wanted.description.as_ref(),
                ),
            ]
            .into_iter()
            .flatten()
            .collect()
        },
        &mut out,
    );
    table(
        Kind::Role,
        &want.roles,
        &have.roles,
        |had, wanted| {
            [
                value("name", had.map(|h| &h.name), Some(&wanted.name)),
                value(
                    "description",
                    had.and_then(|h| h.description.as_ref()),
                    wanted.description.as_ref(),
                ),
                list(
                    "permissions",
                    had.map_or(&[][..], |h| &h.permissions),
                    &wanted.permissions,
                ),
            ]
            .into_iter()
            .flatten()
            .collect()
        },
        &mut out,
    );
    table(
        Kind::RoleSet,
        &want.role_sets,
        &have.role_sets,
        |had, wanted| {
            let kind = |s: &crate::RoleSetSpec| s.type_.as_str().to_owned();
            [
                value("name", had.map(|h| &h.name), Some(&wanted.name)),
                value(
                    "description",
                    had.and_then(|h| h.description.as_ref()),
                    wanted.description.as_ref(),
                ),
                value("type", had.map(kind).as_ref(), Some(&kind(wanted))),
                value(
                    "default_role",
                    had.map(|h| &h.default_role),
                    Some(&wanted.default_role),
                ),
                value(
                    "creator_role",
                    had.map(|h| &h.creator_role),
                    Some(&wanted.creator_role),
                ),
                list("roles", had.map_or(&[][..], |h| &h.roles), &wanted.roles),
            ]
            .into_iter()
            .flatten()
            .collect()
        },
        &mut out,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_updates_and_deletes_are_found_per_kind() {
        let want = DesiredState::from_toml(
            "[permissions.\"org:a:read\"]\nname = \"Read\"\n\n[roles.\"org:r\"]\nname = \"R\"\npermissions = [\"org:a:read\"]\n",
            "a",
        )
        .unwrap();
        let have = DesiredState::from_toml(
            "[permissions.\"org:a:write\"]\nname = \"Write\"\n\n[roles.\"org:r\"]\nname = \"Old R\"\npermissions = [\"org:a:write\"]\n",
            "b",
        )
        .unwrap();
        let found = differences(&want, &have);
        let summary: Vec<(Kind, &str, ChangeAction)> = found
            .iter()
            .map(|c| (c.kind, c.key.as_str(), c.action))
            .collect();
        assert_eq!(
            summary,
            [
                (Kind::Permission, "org:a:read", ChangeAction::Create),
                (Kind::Permission, "org:a:write", ChangeAction::Delete),
                (Kind::Role, "org:r", ChangeAction::Update),
            ]
        );
        assert_eq!(
            found[2].fields,
            [
                FieldChange::Value {
                    field: "name".into(),
                    old: Some("Old R".into()),
                    new: Some("R".into())
                },
                FieldChange::List {
                    field: "permissions".into(),
                    added: vec!["org:a:read".into()],
                    removed: vec!["org:a:write".into()]
                },
            ]
        );
        assert!(differences(&want, &want).is_empty());
    }
}
