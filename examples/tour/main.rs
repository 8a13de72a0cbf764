//! A tour of clerk-rbac: all 19 organization RBAC operations, one after another.
//!
//! ```text
//! cargo run --example tour                       # against an in-process mock Clerk
//! CLERK_SECRET_KEY=sk_test_... cargo run --example tour            # real API, read-only
//! CLERK_SECRET_KEY=sk_test_... cargo run --example tour -- --write # real API, creates and
//!                                                                  # then deletes tour objects
//! ```
//! With `--write` against a real instance, the tour creates permissions, roles and role sets
//! whose keys start with `org:clerk_rbac_tour` / `role_set:clerk_rbac_tour` and removes them
//! again at the end.

use clerk_rbac::{
    AddRoles, Clerk, CreatePermission, CreateRole, CreateRoleSet, ReplaceRole, ReplaceRoleSet,
    UpdatePermission, UpdateRole, UpdateRoleSet,
};

type TourResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> TourResult {
    let write = std::env::args().any(|arg| arg == "--write");
    let real = std::env::var_os("CLERK_SECRET_KEY").is_some();

    // Keep the mock alive for the whole tour.
    let mut _sim = None;
    let clerk = if real {
        println!("Using the Clerk API from CLERK_SECRET_KEY (and CLERK_API_URL if set).");
        Clerk::from_env()?
    } else {
        let sim = clerk_rbac::simulator::Simulator::start().await?;
        let clerk = sim.client();
        _sim = Some(sim);
        clerk
    };

    if real && !write {
        println!(
            "Read-only: listing and fetching only (pass --write to create, change and delete).\n"
        );
        return read_only(&clerk).await;
    }
    full_tour(&clerk).await
}

/// The operations that change nothing.
async fn read_only(clerk: &Clerk) -> TourResult {
    let permissions = clerk
        .organization_permissions()
        .list()
        .limit(5)
        .send()
        .await?;
    println!("list permissions: {} in all", permissions.total_count);
    if let Some(first) = permissions.data.first() {
        let permission = clerk.organization_permissions().get(&first.id).await?;
        println!(
            "get permission {}: {} ({})",
            permission.id, permission.key, permission.name
        );
    }
    let roles = clerk.organization_roles().list().limit(5).send().await?;
    println!("list roles: {} in all", roles.total_count);
    if let Some(first) = roles.data.first() {
        let role = clerk.organization_roles().get(&first.id).await?;
        println!(
            "get role {}: {} with {} permissions",
            role.id,
            role.key,
            role.permissions.len()
        );
    }
    let sets = clerk.role_sets().list().limit(5).send().await?;
    println!("list role sets: {} in all", sets.total_count);
    if let Some(first) = sets.data.first() {
        let set = clerk.role_sets().get(&first.key).await?;
        println!(
            "get role set {}: type {}, {} roles",
            set.key,
            set.type_,
            set.roles.len()
        );
    }
    Ok(())
}

/// Every operation, leaving the instance as it found it.
async fn full_tour(clerk: &Clerk) -> TourResult {
    let permissions = clerk.organization_permissions();
    let roles = clerk.organization_roles();
    let role_sets = clerk.role_sets();
    let tag = "clerk_rbac_tour";

    println!("1. Permissions");
    let read = permissions
        .create(
            CreatePermission::new("Tour: read reports", format!("org:{tag}:read"))
                .description("Made by the tour"),
        )
        .await?;
    println!("   create_permission      -> {} ({})", read.id, read.key);
    let write = permissions
        .create(CreatePermission::new(
            "Tour: write reports",
            format!("org:{tag}:write"),
        ))
        .await?;
    println!("   create_permission      -> {} ({})", write.id, write.key);
    let page = permissions.list().query(tag).limit(10).send().await?;
    println!(
        "   list_permissions       -> {} matching `{tag}`",
        page.total_count
    );
    let fetched = permissions.get(&read.id).await?;
    println!(
        "   get_permission         -> {} is named {:?}",
        fetched.id, fetched.name
    );
    let renamed = permissions
        .update(&read.id, UpdatePermission::new().name("Tour: view reports"))
        .await?;
    println!("   update_permission      -> renamed to {:?}", renamed.name);

    println!("2. Roles");
    let analyst = roles
        .create(
            CreateRole::new("Tour analyst", format!("org:{tag}_analyst"))
                .description("Reads reports")
                .permissions([read.id.clone()]),
        )
        .await?;
    println!(
        "   create_role            -> {} ({}) with {} permission",
        analyst.id,
        analyst.key,
        analyst.permissions.len()
    );
    let lead = roles
        .create(CreateRole::new("Tour lead", format!("org:{tag}_lead")))
        .await?;
    println!("   create_role            -> {} ({})", lead.id, lead.key);
    let page = roles.list().query(tag).order_by("+name").send().await?;
    println!(
        "   list_roles             -> {} matching `{tag}`",
        page.total_count
    );
    let fetched = roles.get(&analyst.id).await?;
    println!(
        "   get_role               -> {} has description {:?}",
        fetched.key, fetched.description
    );
    let cleared = roles
        .update(
            &analyst.id,
            UpdateRole::new().name("Tour analysts").clear_description(),
        )
        .await?;
    println!(
        "   update_role            -> renamed to {:?}, description now {:?}",
        cleared.name, cleared.description
    );
    let with_write = roles.assign_permission(&analyst.id, &write.id).await?;
    println!(
        "   assign_permission      -> {} now holds {} permissions",
        with_write.key,
        with_write.permissions.len()
    );
    let without = roles.remove_permission(&analyst.id, &write.id).await?;
    println!(
        "   remove_permission      -> {} now holds {} permission",
        without.key,
        without.permissions.len()
    );

    println!("3. Role sets");
    let team = role_sets
        .create(
            CreateRoleSet::new(
                "Tour team",
                [analyst.key.clone()],
                &analyst.key,
                &analyst.key,
            )
            .key(format!("role_set:{tag}_team")),
        )
        .await?;
    println!(
        "   create_role_set        -> {} ({}) with {} role",
        team.id,
        team.key,
        team.roles.len()
    );
    let spare = role_sets
        .create(
            CreateRoleSet::new("Tour spare", [lead.key.clone()], &lead.key, &lead.key)
                .key(format!("role_set:{tag}_spare")),
        )
        .await?;
    println!("   create_role_set        -> {} ({})", spare.id, spare.key);
    let page = role_sets.list().query(tag).send().await?;
    println!(
        "   list_role_sets         -> {} matching `{tag}`",
        page.total_count
    );
    let fetched = role_sets.get(&team.key).await?;
    println!(
        "   get_role_set           -> {} is of type {}",
        fetched.key, fetched.type_
    );
    let described = role_sets
        .update(
            &team.key,
            UpdateRoleSet::new().description("Analysts and leads"),
        )
        .await?;
    println!(
        "   update_role_set        -> description {:?}",
        described.description
    );
    let grown = role_sets
        .add_roles(
            &team.key,
            AddRoles::new([lead.key.clone()]).creator_role_key(&lead.key),
        )
        .await?;
    println!(
        "   add_roles              -> {} roles, creator role {:?}",
        grown.roles.len(),
        grown.creator_role.map(|r| r.key)
    );
    let swapped = role_sets
        .replace_role(&spare.key, ReplaceRole::new(&lead.key, &analyst.key))
        .await?;
    println!(
        "   replace_role           -> {} now holds {:?}",
        swapped.key,
        swapped.roles.iter().map(|r| &r.key).collect::<Vec<_>>()
    );
    let replaced = role_sets
        .replace(
            &spare.key,
            ReplaceRoleSet::new(&team.key).reassign(&lead.key, &analyst.key),
        )
        .await?;
    println!(
        "   replace_role_set       -> {} deleted: {}",
        replaced.id.unwrap_or_default(),
        replaced.deleted
    );

    println!("4. Clean-up");
    // The team role set still holds both roles; it has no delete endpoint in this API, so a
    // real instance keeps it (rename or reuse it on the next run).
    for role in [&analyst, &lead] {
        match roles.delete(&role.id).await {
            Ok(deleted) => println!(
                "   delete_role            -> {} deleted: {}",
                role.key, deleted.deleted
            ),
            Err(e) => println!("   delete_role            -> {} kept: {e}", role.key),
        }
    }
    for permission in [&read, &write] {
        let deleted = permissions.delete(&permission.id).await?;
        println!(
            "   delete_permission      -> {} deleted: {}",
            permission.key, deleted.deleted
        );
    }
    println!("Done: 19 operations.");
    Ok(())
}
