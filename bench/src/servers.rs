//! The servers under test: `warden serve` and the native baseline `native-echo`, started over
//! stdio or Streamable HTTP and connected to with rmcp's client; the manifests Warden runs
//! on; and a server's memory, read from `/proc`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rmcp::service::{Peer, RunningService};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use sha2::{Digest, Sha256};
use tokio::process::{Child, Command};

/// An rmcp client connection.
pub type Client = RunningService<RoleClient, ()>;

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `warden serve`: `echo_echo` in a fresh sandbox per call.
    Warden,
    /// `native-echo`: the same tool compiled into a plain rmcp server.
    Native,
}

impl Kind {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Warden => "warden",
            Kind::Native => "native",
        }
    }
}

/// How clients reach a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// The server is a child process speaking MCP on its stdin and stdout.
    Stdio,
    /// Streamable HTTP at `/mcp` on a loopback port.
    Http,
}

impl Transport {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "HTTP",
        }
    }
}

/// The two binaries, and the manifests and cache folder Warden runs with.
pub struct Setup {
    warden: PathBuf,
    native: PathBuf,
    /// Holds the manifests, the audit log and the compiled-component cache.
    dir: tempfile::TempDir,
    /// Serves `echo` (plus the anonymous loopback client HTTP needs), auditing to a file.
    echo_manifest: PathBuf,
    /// The CPUs the servers run on (`taskset -c` syntax), if pinned.
    server_cpus: Option<String>,
}

impl Setup {
    /// Writes the `echo` manifest for `warden` (using `plugins/echo.wasm`) and locks it.
    ///
    /// # Errors
    /// A binary or the plugin is missing, or `warden lock` fails.
    pub fn new(
        warden: PathBuf,
        native: PathBuf,
        plugins: &Path,
        server_cpus: Option<String>,
    ) -> anyhow::Result<Self> {
        for binary in [&warden, &native] {
            if !binary.is_file() {
                bail!(
                    "{} does not exist: build it first (cargo test --workspace --release --all-features builds both)",
                    binary.display()
                );
            }
        }
        let dir = tempfile::tempdir()?;
        let echo = plugins.join("echo.wasm");
        let echo_manifest = dir.path().join("echo.toml");
        std::fs::write(
            &echo_manifest,
            format!(
                "[audit]\npath = \"audit.jsonl\"\n\n\
                 # The load tool's HTTP clients: no credentials, loopback only, no rate limit to speak of.\n\
                 [clients.bench]\nanonymous = true\ntools = [\"echo_*\"]\nrate = \"1000000/s\"\n\n\
                 [components.echo]\nsource = {source:?}\nsha256 = \"{sha256}\"\n",
                source = echo.display().to_string(),
                sha256 = sha256_of(&echo)?,
            ),
        )?;
        let setup = Setup {
            warden,
            native,
            dir,
            echo_manifest,
            server_cpus,
        };
        setup.lock(&setup.echo_manifest)?;
        Ok(setup)
    }

    /// Writes a manifest of `count` components (copies of the example plugins, each made
    /// distinct, so each is compiled and cached on its own) and locks it.
    ///
    /// # Errors
    /// A plugin cannot be read, or `warden lock` fails.
    pub fn many_manifest(&self, count: usize, plugins: &Path) -> anyhow::Result<PathBuf> {
        /// Ids far enough apart that no two tool names look alike to Warden's lint.
        const IDS: [&str; 26] = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
            "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
            "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
        ];
        /// Example plugins that load with nothing granted.
        const PLUGINS: [&str; 5] = ["echo", "text", "media", "fetch", "github"];
        if count > IDS.len() {
            bail!("at most {} components", IDS.len());
        }
        let dir = self.dir.path().join(format!("many-{count}"));
        std::fs::create_dir_all(&dir)?;
        let mut manifest = String::from(
            "[clients.bench]\nanonymous = true\ntools = [\"*\"]\nrate = \"1000000/s\"\n\n",
        );
        for (index, id) in IDS.iter().take(count).enumerate() {
            let plugin = PLUGINS[index % PLUGINS.len()];
            let bytes = std::fs::read(plugins.join(format!("{plugin}.wasm")))?;
            let copy = dir.join(format!("{id}.wasm"));
            std::fs::write(&copy, distinct(bytes, index))?;
            manifest.push_str(&format!(
                "[components.{id}]\nsource = \"{id}.wasm\"\nsha256 = \"{}\"\n\n",
                sha256_of(&copy)?
            ));
        }
        let path = dir.join("warden.toml");
        std::fs::write(&path, manifest)?;
        self.lock(&path)?;
        Ok(path)
    }

    /// A compiled-component cache folder that does not exist yet.
    pub fn fresh_cache(&self) -> PathBuf {
        let mut n = 0;
        loop {
            let path = self.dir.path().join(format!("cache-{n}"));
            if !path.exists() {
                return path;
            }
            n += 1;
        }
    }

    fn lock(&self, manifest: &Path) -> anyhow::Result<()> {
        let output = std::process::Command::new(&self.warden)
            .arg("lock")
            .arg("--manifest")
            .arg(manifest)
            .output()
            .context("cannot run warden lock")?;
        if !output.status.success() {
            bail!(
                "warden lock failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// The command that serves `kind` (Warden on `manifest` with `cache`), on stdio unless
    /// `http` is given.
    fn command(
        &self,
        kind: Kind,
        manifest: Option<&Path>,
        cache: &Path,
        http: Option<SocketAddr>,
    ) -> Command {
        let binary = match kind {
            Kind::Warden => &self.warden,
            Kind::Native => &self.native,
        };
        // taskset execs the server: the process id stays the server's.
        let mut command = match &self.server_cpus {
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.arg("-c").arg(cpus).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        match kind {
            Kind::Warden => {
                command
                    .arg("serve")
                    .arg("--locked")
                    .arg("--manifest")
                    .arg(manifest.unwrap_or(&self.echo_manifest))
                    .arg("--cache-dir")
                    .arg(cache);
            }
            Kind::Native => {}
        }
        if let Some(addr) = http {
            command.arg("--http").arg(addr.to_string());
        }
        command.kill_on_drop(true);
        command
    }

    /// Starts `kind` serving `echo` over `transport`, with `clients` connected (over stdio,
    /// one connection: a stdio server has exactly one client).
    ///
    /// # Errors
    /// The server does not start or a client cannot connect.
    pub async fn start(
        &self,
        kind: Kind,
        transport: Transport,
        clients: usize,
        cache: &Path,
    ) -> anyhow::Result<Server> {
        match transport {
            Transport::Stdio => {
                let (client, pid) = self.connect_stdio(kind, None, cache).await?;
                Ok(Server {
                    pid,
                    clients: vec![client],
                    _child: None,
                })
            }
            Transport::Http => {
                let (child, addr) = self.spawn_http(kind, None, cache).await?;
                let pid = child.id().context("the server exited")?;
                let mut connected = Vec::with_capacity(clients);
                for _ in 0..clients {
                    connected.push(connect_http(addr).await?);
                }
                Ok(Server {
                    pid,
                    clients: connected,
                    _child: Some(child),
                })
            }
        }
    }

    /// From spawning `kind` (Warden on `manifest` with `cache`) to the answer of its first
    /// `tools/list`, and how many tools it listed.
    ///
    /// # Errors
    /// The server does not start or does not answer.
    pub async fn time_to_list(
        &self,
        kind: Kind,
        transport: Transport,
        manifest: Option<&Path>,
        cache: &Path,
    ) -> anyhow::Result<(Duration, usize)> {
        let started = Instant::now();
        let (client, _child) = match transport {
            Transport::Stdio => (self.connect_stdio(kind, manifest, cache).await?.0, None),
            Transport::Http => {
                let (child, addr) = self.spawn_http(kind, manifest, cache).await?;
                (connect_http(addr).await?, Some(child))
            }
        };
        let tools = client.peer().list_tools(None).await?.tools.len();
        let elapsed = started.elapsed();
        client.cancel().await?;
        Ok((elapsed, tools))
    }

    async fn connect_stdio(
        &self,
        kind: Kind,
        manifest: Option<&Path>,
        cache: &Path,
    ) -> anyhow::Result<(Client, u32)> {
        let (transport, _) = TokioChildProcess::builder(self.command(kind, manifest, cache, None))
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", kind.name()))?;
        let pid = transport.id().context("the server exited")?;
        let client = ()
            .serve(transport)
            .await
            .with_context(|| format!("{} did not answer the handshake", kind.name()))?;
        Ok((client, pid))
    }

    /// Spawns `kind` on a free loopback port and waits until the port accepts connections.
    async fn spawn_http(
        &self,
        kind: Kind,
        manifest: Option<&Path>,
        cache: &Path,
    ) -> anyhow::Result<(Child, SocketAddr)> {
        let addr = free_loopback_addr()?;
        let mut child = self
            .command(kind, manifest, cache, Some(addr))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", kind.name()))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if let Some(status) = child.try_wait()? {
                bail!("{} exited before listening: {status}", kind.name());
            }
            if Instant::now() > deadline {
                bail!("{} did not listen on {addr}", kind.name());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok((child, addr))
    }
}

/// A running server and the clients connected to it; dropping it stops the server.
pub struct Server {
    /// The server's process id.
    pub pid: u32,
    /// Connected clients.
    pub clients: Vec<Client>,
    /// The HTTP server's process (a stdio server's belongs to its client).
    _child: Option<Child>,
}

impl Server {
    /// A handle to call through the `index`-th client (clients beyond the connected ones
    /// share them, as every stdio caller shares the one connection).
    pub fn peer(&self, index: usize) -> Peer<RoleClient> {
        self.clients[index % self.clients.len()].peer().clone()
    }

    /// The server's memory now.
    ///
    /// # Errors
    /// `/proc/<pid>/status` cannot be read.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .context("cannot read the server's /proc status")?;
        let kib = |field: &str| -> anyhow::Result<u64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("no {field} in /proc status"))
        };
        Ok(Memory {
            rss: kib("VmRSS:")? * 1024,
            peak: kib("VmHWM:")? * 1024,
        })
    }

    /// Restarts the peak-RSS count from the current RSS (`/proc/<pid>/clear_refs`).
    ///
    /// # Errors
    /// The kernel refuses (then the peak is the whole life's).
    pub fn reset_peak(&self) -> anyhow::Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5")
            .context("cannot reset the peak RSS")
    }

    /// Closes every client.
    ///
    /// # Errors
    /// A client's service task failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        for client in self.clients {
            client.cancel().await?;
        }
        Ok(())
    }
}

/// A process's resident memory, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// Resident now.
    pub rss: u64,
    /// The most resident since start, or since the last reset.
    pub peak: u64,
}

async fn connect_http(addr: SocketAddr) -> anyhow::Result<Client> {
    let transport = StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
    ().serve(transport)
        .await
        .with_context(|| format!("cannot connect to http://{addr}/mcp"))
}

fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// `component` with a custom section `warden-bench-copy` holding `index` appended: the same
/// component, with bytes (and so a digest and a cache entry) of its own.
///
/// Written by hand rather than with `wasm-encoder`: a custom section is an id byte, a
/// length and a name (LEB128 lengths), which is all this needs.
fn distinct(mut component: Vec<u8>, index: usize) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    const NAME: &[u8] = b"warden-bench-copy";
    let payload = index.to_string();
    let mut section = Vec::new();
    leb128(NAME.len(), &mut section);
    section.extend_from_slice(NAME);
    section.extend_from_slice(payload.as_bytes());
    component.push(0); // custom section id
    leb128(section.len(), &mut component);
    component.extend_from_slice(&section);
    component
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_differ_only_by_an_appended_custom_section() {
        let header = b"\0asm\x0d\0\x01\0".to_vec();
        let copy = distinct(header.clone(), 300);
        assert_eq!(&copy[..8], &header[..]);
        assert_eq!(copy[8], 0, "a custom section");
        assert_eq!(usize::from(copy[9]), copy.len() - 10, "its length");
        assert_eq!(usize::from(copy[10]), b"warden-bench-copy".len());
        assert!(copy.ends_with(b"warden-bench-copy300"));
    }
}
