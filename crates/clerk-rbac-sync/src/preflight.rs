//! The preflight: what Clerk would refuse or do to members, foreseen from a plan, the instance
//! it was made against and the instance's organization settings, before anything is sent.
//!
//! Every finding is reported at once, located in the file when it comes from the file. A plan
//! with an [`Severity::Error`] finding is shown in full but [`apply`](crate::apply) sends
//! nothing for it. The checks:
//! - the custom-role quota (`max_allowed_roles`; the default roles `org:admin` and
//!   `org:member` do not count) and the role-set quota (`max_role_sets_allowed`), counted at
//!   the plan's peak, since creates may run before deletes and a retired set stays until its
//!   migration ends;
//! - the plan gate: settings that allow no custom role at all mean every create would be
//!   refused with 402;
//! - deletes Clerk refuses: the role the settings name as creator role or domain default role
//!   (unless the plan moves that duty to another role), a role members still hold;
//! - every member move that moves anyone, with how many members it moves;
//! - a file that manages nothing.
//!
//! Without settings (an instance that does not let them be read) the custom-role count is
//! compared with Clerk's documented default as a warning, and a plan gate is discovered by the
//! first create answered 402, which stops the apply.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    file::DesiredState,
    instance::Instance,
    keys::Kind,
    plan::{Action, Plan},
    source::key_path,
};

/// Clerk's documented default for custom organization roles per instance (more through
/// support), used when the instance's settings cannot be read.
pub const DOCUMENTED_MAX_CUSTOM_ROLES: u64 = 10;

/// The roles every instance starts with; they do not count against the custom-role quota.
const DEFAULT_ROLE_KEYS: [&str; 2] = ["org:admin", "org:member"];

/// What the instance's organization settings say about organization RBAC
/// (`GET /instance/organization_settings`); every field is optional, as an instance may leave
/// any of them out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceSettings {
    /// `max_allowed_roles`: how many custom roles the instance may create; 0 means none (a
    /// plan without custom roles).
    pub max_custom_roles: Option<u64>,
    /// `max_role_sets_allowed`: how many role sets the instance may hold.
    pub max_role_sets: Option<u64>,
    /// `creator_role`: the key of the role an organization's creator gets.
    pub creator_role: Option<String>,
    /// `domains_default_role`: the key of the role given through verified domains.
    pub domains_default_role: Option<String>,
    /// `initial_role_set_key`: the set new organizations get.
    pub initial_role_set: Option<String>,
}

impl InstanceSettings {
    /// Settings with nothing known.
    pub fn new() -> Self {
        Self::default()
    }

    /// What Clerk's answer says; a negative quota (which Clerk never sends) counts as zero
    /// and an empty key as unknown.
    pub fn from_api(settings: &clerk_rbac::OrganizationSettings) -> Self {
        let key = |k: &str| (!k.is_empty()).then(|| k.to_owned());
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        InstanceSettings {
            max_custom_roles: Some(count(settings.max_allowed_roles)),
            max_role_sets: settings.max_role_sets_allowed.map(count),
            creator_role: key(&settings.creator_role),
            domains_default_role: key(&settings.domains_default_role),
            initial_role_set: settings.initial_role_set_key.as_deref().and_then(key),
        }
    }

    /// Sets [`max_custom_roles`](Self::max_custom_roles).
    pub fn max_custom_roles(mut self, max: u64) -> Self {
        self.max_custom_roles = Some(max);
        self
    }

    /// Sets [`max_role_sets`](Self::max_role_sets).
    pub fn max_role_sets(mut self, max: u64) -> Self {
        self.max_role_sets = Some(max);
        self
    }

    /// Sets [`creator_role`](Self::creator_role).
    pub fn creator_role(mut self, key: impl Into<String>) -> Self {
        self.creator_role = Some(key.into());
        self
    }

    /// Sets [`domains_default_role`](Self::domains_default_role).
    pub fn domains_default_role(mut self, key: impl Into<String>) -> Self {
        self.domains_default_role = Some(key.into());
        self
    }
}

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Clerk would refuse part of the plan: apply sends nothing.
    Error,
    /// Worth reading before applying; apply goes ahead.
    Warning,
    /// What the plan does that a reviewer should know, such as members moving.
    Note,
}

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingCode {
    /// More custom roles than the instance allows.
    CustomRoleQuota,
    /// More role sets than the instance allows.
    RoleSetQuota,
    /// The instance's plan allows no custom roles: creates would answer 402.
    PlanGate,
    /// Deleting the role the settings name as creator role.
    CreatorRole,
    /// Deleting the role the settings name as domain default role.
    DomainDefaultRole,
    /// Deleting a role members still hold.
    RoleHeldByMembers,
    /// Members move from one role to another.
    MembersMove,
    /// The file names no object at all.
    ManagesNothing,
}

/// Where in the desired-state file a finding comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingLocation {
    /// The file as it was named when read.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// One thing the preflight found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// What it is about.
    pub code: FindingCode,
    /// The key in the file it is about, as a TOML dotted path (empty for the file as a whole
    /// or an object the file does not name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Where the file says it, when the plan was made from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<FindingLocation>,
    /// What was found, with the numbers.
    pub message: String,
    /// The way out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// How many members it concerns, when it concerns members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<i64>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        write!(f, "{label}: ")?;
        if let Some(at) = &self.location {
            write!(f, "{}:{}:{}: ", at.path, at.line, at.column)?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

/// The error findings of a plan that apply refused to send, shown one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Findings(pub Vec<Finding>);

impl std::fmt::Display for Findings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, finding) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{finding}")?;
        }
        Ok(())
    }
}

/// Collects findings, locating them in the file when there is one.
struct Collector<'a> {
    desired: Option<&'a DesiredState>,
    findings: Vec<Finding>,
}

impl Collector<'_> {
    fn push(
        &mut self,
        severity: Severity,
        code: FindingCode,
        paths: &[String],
        message: String,
        help: Option<String>,
        members: Option<i64>,
    ) {
        let source = self.desired.and_then(|d| d.source.as_ref());
        let found = paths.iter().find_map(|path| {
            source
                .and_then(|s| s.locate_key(path))
                .map(|at| (path.clone(), at))
        });
        let (key, location) = match found {
            Some((path, at)) => (
                path,
                Some(FindingLocation {
                    path: at.path,
                    line: at.line,
                    column: at.column,
                }),
            ),
            None => (paths.first().cloned().unwrap_or_default(), None),
        };
        self.findings.push(Finding {
            severity,
            code,
            key,
            location,
            message,
            help,
            members,
        });
    }
}

/// Every finding for `plan`, made against `observed`, with the instance's `settings` when
/// they could be read. `desired` (the file the plan came from) locates findings and tells
/// whether the file manages anything; without it only the plan's steps are checked.
pub fn check(
    observed: &Instance,
    plan: &Plan,
    desired: Option<&DesiredState>,
    settings: Option<&InstanceSettings>,
) -> Vec<Finding> {
    let mut out = Collector {
        desired,
        findings: Vec::new(),
    };
    if let Some(desired) = desired {
        manages_nothing(&mut out, observed, desired);
    }
    let gated = settings.and_then(|s| s.max_custom_roles) == Some(0);
    if gated {
        plan_gate(&mut out, plan);
    } else {
        custom_role_quota(&mut out, observed, plan, settings);
        role_set_quota(&mut out, observed, plan, settings);
    }
    deletes(&mut out, observed, plan, settings);
    member_moves(&mut out, observed, plan);
    let mut findings = out.findings;
    findings.sort_by(|a, b| {
        let at = |f: &Finding| {
            f.location
                .as_ref()
                .map_or((usize::MAX, usize::MAX), |l| (l.line, l.column))
        };
        (a.severity, at(a), &a.key, a.code).cmp(&(b.severity, at(b), &b.key, b.code))
    });
    findings
}

fn manages_nothing(out: &mut Collector<'_>, observed: &Instance, desired: &DesiredState) {
    if !(desired.permissions.is_empty()
        && desired.roles.is_empty()
        && desired.role_sets.is_empty()
        && desired.retired_role_sets.is_empty())
    {
        return;
    }
    let custom = observed.permissions.iter().filter(|p| !p.system).count();
    out.push(
        Severity::Warning,
        FindingCode::ManagesNothing,
        &[],
        format!(
            "the file names no permission, role or role set, so nothing is compared: the instance holds {custom} custom permissions, {} roles and {} role sets that this run leaves alone",
            observed.roles.len(),
            observed.role_sets.len()
        ),
        Some("describe the instance with `clerk-rbac export`, or check that the right file was given".into()),
        None,
    );
}

fn creates(plan: &Plan, kind: Kind) -> Vec<&str> {
    plan.steps
        .iter()
        .filter_map(|s| match (&s.action, kind) {
            (Action::CreatePermission { key, .. }, Kind::Permission)
            | (Action::CreateRole { key, .. }, Kind::Role)
            | (Action::CreateRoleSet { key, .. }, Kind::RoleSet) => Some(key.as_str()),
            _ => None,
        })
        .collect()
}

fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::Permission => "permissions",
        Kind::Role => "roles",
        Kind::RoleSet => "role_sets",
    }
}

fn plan_gate(out: &mut Collector<'_>, plan: &Plan) {
    let mut created: Vec<(Kind, &str)> = Vec::new();
    for kind in [Kind::Permission, Kind::Role, Kind::RoleSet] {
        created.extend(creates(plan, kind).into_iter().map(|k| (kind, k)));
    }
    if created.is_empty() {
        return;
    }
    let paths: Vec<String> = created
        .iter()
        .map(|(kind, key)| key_path(&[table(*kind), key]))
        .collect();
    out.push(
        Severity::Error,
        FindingCode::PlanGate,
        &paths,
        format!(
            "the instance's settings allow no custom roles (its plan lacks the feature), so the {} creates of this plan would each be refused with 402: {}",
            created.len(),
            created.iter().map(|(_, k)| *k).collect::<Vec<_>>().join(", ")
        ),
        Some("enable custom roles on the instance's plan (a paid add-on in production), or remove the new objects from the file".into()),
        None,
    );
}

fn custom_role_quota(
    out: &mut Collector<'_>,
    observed: &Instance,
    plan: &Plan,
    settings: Option<&InstanceSettings>,
) {
    let now = observed
        .roles
        .iter()
        .filter(|r| !DEFAULT_ROLE_KEYS.contains(&r.key.as_str()))
        .count() as u64;
    let created = creates(plan, Kind::Role);
    if created.is_empty() {
        return;
    }
    // A default role renamed to another key counts as a custom role from then on (the
    // default roles are known by their keys); deletes may run after the creates, so they do
    // not lower the peak.
    let renamed_away = plan
        .steps
        .iter()
        .filter(|s| {
            matches!(&s.action, Action::UpdateRole { key, new_key: Some(new), .. }
                if DEFAULT_ROLE_KEYS.contains(&key.as_str())
                    && !DEFAULT_ROLE_KEYS.contains(&new.as_str()))
        })
        .count() as u64;
    let now = now + renamed_away;
    let peak = now + created.len() as u64;
    let (max, known) = match settings.and_then(|s| s.max_custom_roles) {
        Some(max) => (max, true),
        None => (DOCUMENTED_MAX_CUSTOM_ROLES, false),
    };
    if peak <= max {
        return;
    }
    let over = usize::try_from(max.saturating_sub(now)).unwrap_or(usize::MAX);
    let beyond: Vec<String> = created
        .iter()
        .skip(over)
        .map(|k| key_path(&["roles", k]))
        .collect();
    let (severity, source) = if known {
        (Severity::Error, "the instance allows")
    } else {
        (
            Severity::Warning,
            "the instance's settings could not be read; Clerk's documented default allows",
        )
    };
    out.push(
        severity,
        FindingCode::CustomRoleQuota,
        &beyond,
        format!(
            "this plan needs {peak} custom roles ({now} on the instance, {} created) and {source} {max}; the create of {} would be refused",
            created.len(),
            created.iter().skip(over).copied().collect::<Vec<_>>().join(", ")
        ),
        Some(format!(
            "remove {} role(s) from the file, delete unused custom roles first, or ask Clerk support to raise the limit",
            peak - max
        )),
        None,
    );
}

fn role_set_quota(
    out: &mut Collector<'_>,
    observed: &Instance,
    plan: &Plan,
    settings: Option<&InstanceSettings>,
) {
    let Some(max) = settings.and_then(|s| s.max_role_sets) else {
        return;
    };
    let created = creates(plan, Kind::RoleSet);
    let now = observed.role_sets.len() as u64;
    let peak = now + created.len() as u64;
    if created.is_empty() || peak <= max {
        return;
    }
    let over = usize::try_from(max.saturating_sub(now)).unwrap_or(usize::MAX);
    let beyond: Vec<String> = created
        .iter()
        .skip(over)
        .map(|k| key_path(&["role_sets", k]))
        .collect();
    out.push(
        Severity::Error,
        FindingCode::RoleSetQuota,
        &beyond,
        format!(
            "this plan needs {peak} role sets ({now} on the instance, those being retired included, {} created) and the instance allows {max}",
            created.len()
        ),
        Some(format!(
            "remove {} role set(s) from the file, retire sets in an earlier apply and wait for their migrations, or ask Clerk support to raise the limit",
            peak - max
        )),
        None,
    );
}

/// Whether the plan gives the initial set's creator (or default) role to another role.
fn moves_duty(plan: &Plan, settings: &InstanceSettings, creator: bool) -> bool {
    plan.steps.iter().any(|s| match &s.action {
        Action::UpdateRoleSet {
            set,
            make_initial,
            default_role,
            creator_role,
            ..
        } => {
            *make_initial
                || (Some(set) == settings.initial_role_set.as_ref()
                    && if creator {
                        creator_role.is_some()
                    } else {
                        default_role.is_some()
                    })
        }
        Action::AddRoles {
            set,
            default_role,
            creator_role,
            ..
        } => {
            Some(set) == settings.initial_role_set.as_ref()
                && if creator {
                    creator_role.is_some()
                } else {
                    default_role.is_some()
                }
        }
        Action::CreateRoleSet { initial, .. } => *initial,
        _ => false,
    })
}

fn deletes(
    out: &mut Collector<'_>,
    observed: &Instance,
    plan: &Plan,
    settings: Option<&InstanceSettings>,
) {
    for step in &plan.steps {
        let Action::DeleteRole { key } = &step.action else {
            continue;
        };
        let path = [key_path(&["roles", key])];
        if let Some(settings) = settings {
            for (creator, named, code, what) in [
                (
                    true,
                    &settings.creator_role,
                    FindingCode::CreatorRole,
                    "creator role",
                ),
                (
                    false,
                    &settings.domains_default_role,
                    FindingCode::DomainDefaultRole,
                    "domain default role",
                ),
            ] {
                if named.as_deref() == Some(key.as_str()) && !moves_duty(plan, settings, creator) {
                    out.push(
                        Severity::Error,
                        code,
                        &path,
                        format!("role {key} is the instance's {what}: Clerk refuses to delete it"),
                        Some(format!(
                            "make another role the {what} first (in the initial role set), or keep {key}"
                        )),
                        None,
                    );
                }
            }
        }
        // Members who still hold the role once the plan's moves are done.
        let mut remaining = 0i64;
        let mut holders = Vec::new();
        for set in &observed.role_sets {
            let Some(&count) = set.members.get(key) else {
                continue;
            };
            let moved = plan.steps.iter().any(|s| match &s.action {
                Action::RemoveRole {
                    set: from, role, ..
                } => *from == set.key && role == key,
                Action::RetireRoleSet { set: from, .. } => *from == set.key,
                _ => false,
            });
            if !moved && !set.is_retiring() {
                remaining += count;
                holders.push(format!("{count} in {}", set.key));
            }
        }
        if remaining > 0 {
            out.push(
                Severity::Error,
                FindingCode::RoleHeldByMembers,
                &path,
                format!(
                    "role {key} is held by {remaining} member(s) ({}): Clerk refuses to delete it",
                    holders.join(", ")
                ),
                Some("move its members to another role first (move_members of the sets that hold it)".into()),
                Some(remaining),
            );
        }
    }
}

fn member_moves(out: &mut Collector<'_>, observed: &Instance, plan: &Plan) {
    let members_of = |set: &str| -> BTreeMap<String, i64> {
        observed
            .role_sets
            .iter()
            .find(|s| s.key == set)
            .map(|s| s.members.clone())
            .unwrap_or_default()
    };
    for step in &plan.steps {
        match &step.action {
            Action::RemoveRole {
                set,
                role,
                members_to,
            } => {
                let count = members_of(set).get(role).copied().unwrap_or(0);
                // A move of nobody is no news: the plan's line says where members would go.
                if count == 0 {
                    continue;
                }
                out.push(
                    Severity::Note,
                    FindingCode::MembersMove,
                    &[
                        key_path(&["role_sets", set, "move_members", role]),
                        key_path(&["role_sets", set]),
                    ],
                    format!(
                        "{count} member(s) of role set {set} holding {role} move to {members_to}"
                    ),
                    None,
                    Some(count),
                );
            }
            Action::RetireRoleSet {
                set,
                into,
                move_members,
            } => {
                for (role, count) in members_of(set) {
                    let to = move_members.get(&role).unwrap_or(&role);
                    out.push(
                        Severity::Note,
                        FindingCode::MembersMove,
                        &[
                            key_path(&["retired_role_sets", set, "move_members", &role]),
                            key_path(&["retired_role_sets", set]),
                        ],
                        format!(
                            "{count} member(s) of retired role set {set} holding {role} move to {to} in {into}"
                        ),
                        None,
                        Some(count),
                    );
                }
            }
            _ => {}
        }
    }
}
