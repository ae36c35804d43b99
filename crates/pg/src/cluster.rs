//! A throwaway PostgreSQL server for tests and benchmarks: `initdb` and `pg_ctl` from the
//! machine's PostgreSQL installation, in a temporary directory, on a free port, reachable only
//! through a Unix socket in that directory, stopped and deleted on drop. Run as root, the server
//! runs as `nobody` (PostgreSQL refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Why a cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No `initdb`/`pg_ctl` found.
    #[error("PostgreSQL server binaries not found (looked at $USERQL_PG_BINDIR, `pg_config --bindir`, /usr/lib/postgresql/*/bin); install the `postgresql` package")]
    NotInstalled,
    /// A step failed.
    #[error("{step}: {message}")]
    Step {
        /// What was being done.
        step: &'static str,
        /// Output or error.
        message: String,
    },
}

/// A running throwaway server.
#[derive(Debug)]
pub struct Cluster {
    bindir: PathBuf,
    dir: PathBuf,
    port: u16,
    as_nobody: bool,
}

fn step(step: &'static str) -> impl Fn(std::io::Error) -> ClusterError {
    move |e| ClusterError::Step {
        step,
        message: e.to_string(),
    }
}

/// Where `initdb` and `pg_ctl` live.
pub fn bindir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("USERQL_PG_BINDIR").map(PathBuf::from) {
        return has_tools(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Some(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has_tools(d))
        .collect();
    found.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, ClusterError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(step("finding a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(step("finding a free port"))?
        .port())
}

/// A server setting for [`Cluster::start_with`]: a name of letters, digits, `_` and `.`, and a
/// value without control characters, written as a quoted string into `postgresql.conf`.
pub type Setting<'a> = (&'a str, &'a str);

/// The lines appended to `postgresql.conf` for `settings`, or the first bad name.
fn conf_lines(settings: &[Setting<'_>]) -> Result<String, ClusterError> {
    let mut out = String::new();
    for (name, value) in settings {
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !plain || value.chars().any(char::is_control) {
            return Err(ClusterError::Step {
                step: "server settings",
                message: format!("not a plain setting: {name:?} = {value:?}"),
            });
        }
        let value = value.replace('\\', "\\\\").replace('\'', "''");
        out.push_str(&format!("{name} = '{value}'\n"));
    }
    Ok(out)
}

impl Cluster {
    /// Creates and starts a server with the test settings (no `fsync`, no synchronous commit:
    /// nothing here must survive a crash).
    pub fn start() -> Result<Cluster, ClusterError> {
        Cluster::start_with(&[])
    }

    /// Creates and starts a server with `settings` added to its configuration (the benchmark's
    /// memory and WAL settings, say); a later setting of the same name wins.
    pub fn start_with(settings: &[Setting<'_>]) -> Result<Cluster, ClusterError> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let bindir = bindir().ok_or(ClusterError::NotInstalled)?;
        let dir = std::env::temp_dir().join(format!(
            "userql-pg-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(step("creating the cluster directory"))?;
        let as_nobody = is_root();
        let mut cluster = Cluster {
            bindir,
            dir,
            port: free_port()?,
            as_nobody,
        };
        if as_nobody {
            let status = Command::new("chown")
                .arg("nobody")
                .arg(&cluster.dir)
                .status()
                .map_err(step("chown nobody"))?;
            if !status.success() {
                return Err(ClusterError::Step {
                    step: "chown nobody",
                    message: status.to_string(),
                });
            }
        }
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=trust".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        if !settings.is_empty() {
            use std::io::Write as _;
            let lines = conf_lines(settings)?;
            std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))
                .and_then(|mut f| f.write_all(lines.as_bytes()))
                .map_err(step("writing postgresql.conf"))?;
        }
        // Another process may take the port between our probe and the server's bind: retry.
        let mut last = None;
        for _ in 0..5 {
            let options = format!(
                "-p {} -k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                cluster.port,
                cluster.dir.display()
            );
            let log = cluster.dir.join("server.log");
            match cluster.run(
                "pg_ctl start",
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-o".as_ref(),
                    options.as_ref(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-w".as_ref(),
                    "start".as_ref(),
                ],
            ) {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    last = Some(ClusterError::Step {
                        step: "pg_ctl start",
                        message: format!("{e}\n{log}"),
                    });
                    cluster.port = free_port()?;
                }
            }
        }
        Err(last.unwrap_or(ClusterError::NotInstalled))
    }

    fn run(
        &self,
        what: &'static str,
        tool: &str,
        args: &[&std::ffi::OsStr],
    ) -> Result<(), ClusterError> {
        let program = self.bindir.join(tool);
        let mut command = if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        let out = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(step(what))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(ClusterError::Step {
                step: what,
                message: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            })
        }
    }

    /// A libpq connection string for the server's `postgres` database.
    pub fn url(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname=postgres",
            self.dir.display(),
            self.port
        )
    }

    /// The port the server listens on (its socket is `.s.PGSQL.<port>` in the cluster directory).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run(
            "pg_ctl stop",
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A cluster for a test: outside CI a missing PostgreSQL skips the test (`None`, with a note on
/// standard error); under `CI=true` it fails, so CI never passes without running these tests.
pub fn for_test() -> Option<Cluster> {
    match Cluster::start() {
        Ok(cluster) => Some(cluster),
        Err(e) if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") => {
            panic!("CI needs PostgreSQL for these tests: {e}")
        }
        Err(ClusterError::NotInstalled) => {
            eprintln!("skipping: PostgreSQL is not installed here (CI fails instead)");
            None
        }
        Err(e) => panic!("could not start a PostgreSQL cluster: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_quoted_and_names_checked() {
        assert_eq!(
            conf_lines(&[("shared_buffers", "1GB"), ("x.y", "it's")]).unwrap(),
            "shared_buffers = '1GB'\nx.y = 'it''s'\n"
        );
        assert!(conf_lines(&[("a = 1\nb", "2")]).is_err());
        assert!(conf_lines(&[("", "2")]).is_err());
        assert!(conf_lines(&[("a", "1'\nb = '2")]).is_err());
    }
}
