//! `flowctl tc`: TrafficControls (crd.antrea.io/v1alpha2), in a cluster or realized on this host.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{ExitStatus, GlobalArgs};
use crate::core::k8s;
use crate::core::output::OutputFormat;
use crate::core::output::table::plain;
use crate::core::trafficcontrol::local::{self, LocalState, Report};
use crate::core::trafficcontrol::{self as tc, TrafficControl, cluster, kernel, show};

const RESOURCE: &str = "trafficcontrol.crd.antrea.io";

/// Mirror or redirect Pods' traffic to a port or a tunnel (Antrea TrafficControl)
#[derive(Debug, Args)]
pub struct TcArgs {
    #[command(subcommand)]
    pub what: TcCommand,
}

#[derive(Debug, Subcommand)]
pub enum TcCommand {
    /// Validate TrafficControls and apply them to the cluster (server-side apply) or this host
    #[command(after_help = "Examples:\n  flowctl tc apply -f mirror.yaml --kubeconfig ~/.kube/config\n  \
                            flowctl tc apply -f mirror.yaml --dry-run\n  \
                            flowctl tc apply --local -f mirror.yaml --pods pods.yaml\n  \
                            flowctl tc apply --local -f - < mirror.yaml")]
    Apply(ApplyArgs),
    /// List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)
    #[command(after_help = "Examples:\n  flowctl tc get\n  flowctl tc get mirror-web -o yaml\n  \
                            flowctl tc get --local -o wide")]
    Get(GetArgs),
    /// Delete TrafficControls; on this host, their filters and links go with them
    #[command(after_help = "Examples:\n  flowctl tc delete mirror-web\n  flowctl tc delete --local mirror-web\n  \
                            flowctl tc delete --local --all")]
    Delete(DeleteArgs),
    /// What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)
    #[command(after_help = "Examples:\n  flowctl tc status --local\n  \
                            flowctl tc status --kubeconfig ~/.kube/config --pods pods.yaml")]
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct Where {
    /// On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)
    #[arg(long)]
    pub local: bool,
    /// Kubernetes API server and credentials [default: in-cluster when run in a Pod]
    #[arg(long, value_name = "FILE", conflicts_with = "local")]
    pub kubeconfig: Option<PathBuf>,
    /// Where --local keeps the applied TrafficControls
    #[arg(long, value_name = "DIR", env = "FLOWCTL_STATE_DIR", default_value = "/run/flowctl")]
    pub state_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// YAML file with one or more TrafficControls ('---' separated); '-' reads stdin
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: PathBuf,
    /// Validate only: nothing is sent or realized
    #[arg(long)]
    pub dry_run: bool,
    /// Take over fields another field manager owns (kubectl's --force-conflicts)
    #[arg(long)]
    pub force_conflicts: bool,
    /// Pod inventory (the agent's --pods format) for --local; remembered for later commands
    #[arg(long, value_name = "FILE")]
    pub pods: Option<PathBuf>,
    #[command(flatten)]
    pub place: Where,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// One TrafficControl [default: all]
    pub name: Option<String>,
    #[command(flatten)]
    pub place: Where,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// TrafficControls to delete
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub names: Vec<String>,
    /// Delete every TrafficControl
    #[arg(long)]
    pub all: bool,
    /// Pod inventory for --local [default: the one given last]
    #[arg(long, value_name = "FILE")]
    pub pods: Option<PathBuf>,
    #[command(flatten)]
    pub place: Where,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Pod inventory [default with --local: the one given last]
    #[arg(long, value_name = "FILE")]
    pub pods: Option<PathBuf>,
    #[command(flatten)]
    pub place: Where,
}

pub fn run(args: TcArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let format = global.output_format();
    match args.what {
        TcCommand::Apply(a) => apply(a),
        TcCommand::Get(a) => get(a, format),
        TcCommand::Delete(a) => delete(a),
        TcCommand::Status(a) => status(a, format),
    }
}

fn read_input(file: &Path) -> anyhow::Result<(String, String)> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading TrafficControls from stdin")?;
        Ok((text, "<stdin>".into()))
    } else {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        Ok((text, file.display().to_string()))
    }
}

fn apply(a: ApplyArgs) -> anyhow::Result<ExitStatus> {
    let (text, source) = read_input(&a.file)?;
    let tcs = tc::load_checked(&text, &source)?;
    if a.dry_run && !a.place.local {
        for t in &tcs {
            println!("{RESOURCE}/{} validated (dry run)", name(t));
        }
        return Ok(ExitStatus::Success);
    }
    if a.place.local {
        local::refuse_unsupported(&tcs)?;
        let mut state = LocalState::load(&a.place.state_dir)?;
        // What would be applied, among what is applied already, checked against the inventory,
        // the interfaces and the kernel before anything is saved: a manifest that cannot be
        // realized changes nothing.
        let changes = state.apply(tcs.clone());
        let bindings = state.bindings(&state.inventory(a.pods.as_deref())?);
        let now = kernel::read()?;
        local::preflight(&bindings, &now)?;
        if a.dry_run {
            print!("{}", local::plan_text(&tcs, &bindings)?);
            return Ok(ExitStatus::Success);
        }
        state.save()?;
        state.remember_inventory(a.pods.as_deref())?;
        for (n, change) in &changes {
            println!("{RESOURCE}/{n} {}", change.as_str());
        }
        return finish(local::reconcile(&local::desired(&bindings)?, now)?);
    }
    let client = cluster_client(&a.place)?;
    block_on(async {
        for stored in cluster::apply(&client, &tcs, a.force_conflicts).await? {
            println!("{RESOURCE}/{} serverside-applied", name(&stored));
        }
        Ok(ExitStatus::Success)
    })
}

fn get(a: GetArgs, format: OutputFormat) -> anyhow::Result<ExitStatus> {
    let tcs = if a.place.local {
        let state = LocalState::load(&a.place.state_dir)?;
        match &a.name {
            Some(n) => vec![
                state
                    .applied
                    .iter()
                    .find(|t| t.metadata.name.as_deref() == Some(n))
                    .cloned()
                    .with_context(|| format!("{RESOURCE} {n:?} not found"))?,
            ],
            None => state.applied,
        }
    } else {
        let client = cluster_client(&a.place)?;
        block_on(cluster::get(&client, a.name.as_deref()))?
    };
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let text = match format {
        OutputFormat::Table if tcs.is_empty() => String::new(),
        OutputFormat::Table => plain(show::COLUMNS, tcs.iter().map(|t| show::row(t, now))),
        OutputFormat::Wide if tcs.is_empty() => String::new(),
        OutputFormat::Wide => plain(show::WIDE_COLUMNS, tcs.iter().map(|t| show::wide_row(t, now))),
        OutputFormat::Json => serde_json::to_string_pretty(&listing(&tcs, a.name.is_some())?)? + "\n",
        OutputFormat::Yaml => serde_saphyr::to_string(&listing(&tcs, a.name.is_some())?)?,
    };
    if tcs.is_empty() && matches!(format, OutputFormat::Table | OutputFormat::Wide) {
        eprintln!("No TrafficControls found.");
    }
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitStatus::Success)
}

/// kubectl's shapes: the object itself for one name, a `List` otherwise; managed fields left
/// out as kubectl leaves them out.
fn listing(tcs: &[TrafficControl], one: bool) -> anyhow::Result<serde_json::Value> {
    let mut items = Vec::new();
    for t in tcs {
        let mut v = serde_json::to_value(t)?;
        if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.remove("managedFields");
        }
        items.push(v);
    }
    Ok(match items.pop() {
        Some(item) if one => item,
        last => {
            items.extend(last);
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items})
        }
    })
}

fn delete(mut a: DeleteArgs) -> anyhow::Result<ExitStatus> {
    if a.place.local {
        let mut state = LocalState::load(&a.place.state_dir)?;
        if a.all {
            a.names = state.applied.iter().map(|t| name(t).to_string()).collect();
        }
        let missing: Vec<&String> = a.names.iter().filter(|n| !state.remove(n)).collect();
        anyhow::ensure!(
            missing.is_empty(),
            "{RESOURCE} {} not found in {}: nothing deleted",
            missing.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "),
            a.place.state_dir.display()
        );
        state.save()?;
        for n in &a.names {
            println!("{RESOURCE} {n:?} deleted");
        }
        return finish(state.realize(a.pods.as_deref())?);
    }
    let client = cluster_client(&a.place)?;
    block_on(async {
        if a.all {
            a.names = cluster::get(&client, None).await?.iter().map(|t| name(t).to_string()).collect();
        }
        for n in &a.names {
            cluster::delete(&client, n).await?;
            println!("{RESOURCE} {n:?} deleted");
        }
        Ok(ExitStatus::Success)
    })
}

fn status(a: StatusArgs, format: OutputFormat) -> anyhow::Result<ExitStatus> {
    let (tcs, inventory) = if a.place.local {
        let state = LocalState::load(&a.place.state_dir)?;
        let inventory = state.inventory(a.pods.as_deref())?;
        (state.applied, inventory)
    } else {
        let pods = a.pods.as_deref().context("--pods INVENTORY is needed: which Pods are on this host")?;
        let inventory = crate::core::inventory::Inventory::load(pods)?;
        let client = cluster_client(&a.place)?;
        let mut tcs = block_on(cluster::get(&client, None))?;
        // Precedence is the order of creation, as the agent realizes them.
        tcs.sort_by(|x, y| x.metadata.creation_timestamp.cmp(&y.metadata.creation_timestamp));
        (tcs, inventory)
    };
    let realized = kernel::read()?;
    let rows = show::status(&tcs, &local::inventory_pods(&inventory), &inventory.namespaces, &realized);
    let text = match format {
        OutputFormat::Table | OutputFormat::Wide if rows.is_empty() => {
            eprintln!("No TrafficControls found.");
            String::new()
        }
        OutputFormat::Table => plain(show::STATUS_COLUMNS, rows.iter().map(show::TcStatus::row)),
        OutputFormat::Wide => plain(show::STATUS_WIDE_COLUMNS, rows.iter().map(show::TcStatus::wide_row)),
        OutputFormat::Json => serde_json::to_string_pretty(&rows)? + "\n",
        OutputFormat::Yaml => serde_saphyr::to_string(&rows)?,
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(if rows.iter().all(show::TcStatus::healthy) { ExitStatus::Success } else { ExitStatus::Failure })
}

/// What the kernel could not be brought to is printed; it makes the exit status 1.
fn finish(report: Report) -> anyhow::Result<ExitStatus> {
    tracing::info!(
        links_created = ?report.links_created,
        links_deleted = ?report.links_deleted,
        filters_added = report.filters_added,
        filters_removed = report.filters_removed,
        "reconciled"
    );
    if report.failures.is_empty() {
        return Ok(ExitStatus::Success);
    }
    for f in &report.failures {
        eprintln!("error: not realized: {f}");
    }
    Ok(ExitStatus::Failure)
}

fn cluster_client(place: &Where) -> anyhow::Result<kube::Client> {
    let source = k8s::resolve_source(place.kubeconfig.clone());
    block_on(k8s::client(&source))?
        .context("no Kubernetes API server: give --kubeconfig FILE, run in a Pod, or use --local to work on this host")
}

fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    super::service::current_thread()?.block_on(f)
}

fn name(t: &TrafficControl) -> &str {
    t.metadata.name.as_deref().unwrap_or_default()
}
