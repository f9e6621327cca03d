//! Server configuration: flags and environment, as documented in the README.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How `bidroom serve` runs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "BIDROOM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the embedded database, ciphertext files and server keys.
    #[arg(long, env = "BIDROOM_DATA_DIR", default_value = "./bidroom-data")]
    pub data_dir: PathBuf,
    /// Database URL; `postgres://…` for PostgreSQL. Default: SQLite in the data directory.
    #[arg(long = "database", env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// PostgreSQL schema to use instead of the connection's default.
    #[arg(long, env = "BIDROOM_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
    /// Sets the staff admin token instead of generating one on first start.
    #[arg(long, env = "BIDROOM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Pause between two bids opened during the 唱标, in milliseconds (0: all at once).
    #[arg(long, env = "BIDROOM_OPENING_PACE_MS", default_value_t = 1500)]
    pub opening_pace_ms: u64,
    /// The transparency log's origin line (its public name in checkpoints).
    #[arg(long, env = "BIDROOM_LOG_ORIGIN", default_value = "bidroom.local/log")]
    pub log_origin: String,
    /// How long a resumable upload session lives, in seconds.
    #[arg(long = "upload-ttl", env = "BIDROOM_UPLOAD_TTL_SECS", default_value_t = 86_400)]
    pub upload_ttl_secs: u64,
    /// The live room's limits.
    #[command(flatten)]
    pub live: crate::live::LiveConfig,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are
    /// believed, as CIDR blocks or single addresses (repeatable; comma
    /// separated in the environment). None: the TCP peer is the client.
    #[arg(long = "trusted-proxy", env = "BIDROOM_TRUSTED_PROXY", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Rate limits on writes.
    #[command(flatten)]
    pub rate: RateConfig,
    /// HTTPS.
    #[command(flatten)]
    pub tls: TlsConfig,
    /// Address of the Prometheus listener (`GET /metrics`); off unless set.
    /// Keep it off the public interface: it is for the operator.
    #[arg(long = "metrics-listen", env = "BIDROOM_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// How long clients may take to send requests.
    #[command(flatten)]
    pub timeouts: HttpTimeouts,
    /// Group submissions into batches (the default). Off, the committer
    /// records each submission in its own transaction (batches of one): the
    /// baseline the `receipts` benchmark compares against. Not a flag:
    /// always on in `serve`.
    #[arg(skip = true)]
    pub group_commit: bool,
    /// How open data (OCDS) names this server's releases.
    #[command(flatten)]
    pub ocds: OcdsFlags,
}

/// The Open Contracting Data Standard settings of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct OcdsFlags {
    /// The ocid prefix the publisher registered with the Open Contracting
    /// Partnership (`ocds-` and six characters); every tender's ocid is
    /// `<prefix>-<tender id>`. The default is a placeholder for tests.
    #[arg(long = "ocds-prefix", env = "BIDROOM_OCDS_PREFIX", default_value = "ocds-000000")]
    pub prefix: String,
    /// The publisher named in release packages (the organisation running
    /// this server).
    #[arg(long = "ocds-publisher", env = "BIDROOM_OCDS_PUBLISHER", default_value = "bidroom")]
    pub publisher: String,
}

impl Default for OcdsFlags {
    fn default() -> Self {
        OcdsFlags { prefix: "ocds-000000".into(), publisher: "bidroom".into() }
    }
}

impl ServeConfig {
    /// A configuration for tests and embedding: SQLite under `data_dir`.
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url: None,
            database_schema: None,
            admin_token: None,
            opening_pace_ms: 0,
            log_origin: "bidroom.local/log".to_string(),
            upload_ttl_secs: 86_400,
            live: crate::live::LiveConfig::default(),
            trusted_proxies: Vec::new(),
            // Tests write fast from one address; the rate tests turn it on.
            rate: RateConfig { writes_per_minute: 0, bidder_writes_per_minute: 0, burst: RateConfig::default().burst },
            tls: TlsConfig::default(),
            metrics_listen: None,
            timeouts: HttpTimeouts::default(),
            group_commit: true,
            ocds: OcdsFlags::default(),
        }
    }
}

/// Read timeouts of the HTTP server, so that a client that stops sending
/// does not hold a connection and its memory forever.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpTimeouts {
    /// Time for a request's header block to arrive, from the connection's
    /// start or the previous answer (so it also ends idle keep-alive
    /// connections), in milliseconds.
    #[arg(long = "header-timeout-ms", env = "BIDROOM_HEADER_TIMEOUT_MS", default_value_t = 30_000)]
    pub header_ms: u64,
    /// Time for a whole non-upload request body (JSON) to arrive, in milliseconds.
    #[arg(long = "body-timeout-ms", env = "BIDROOM_BODY_TIMEOUT_MS", default_value_t = 60_000)]
    pub body_ms: u64,
    /// Longest pause between two chunks of an upload (a multipart bid or a
    /// resumable part), in milliseconds; an upload that keeps going is never cut.
    #[arg(long = "upload-idle-timeout-ms", env = "BIDROOM_UPLOAD_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub upload_idle_ms: u64,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts { header_ms: 30_000, body_ms: 60_000, upload_idle_ms: 60_000 }
    }
}

/// A `--trusted-proxy` value: a CIDR block, or one address.
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("'{s}' is neither a CIDR block (10.0.0.0/8) nor an address"))
}

/// Rate limits on writes (registration, submission, uploads, withdrawal,
/// release, staff changes); reads are not limited.
#[derive(Debug, Clone, clap::Args)]
pub struct RateConfig {
    /// Writes per minute one client address may make (0: no limit).
    #[arg(long = "rate-writes-per-minute", env = "BIDROOM_RATE_WRITES_PER_MINUTE", default_value_t = 600)]
    pub writes_per_minute: u32,
    /// Submissions per minute one bidder key may make (0: no limit).
    #[arg(long = "rate-bidder-per-minute", env = "BIDROOM_RATE_BIDDER_PER_MINUTE", default_value_t = 30)]
    pub bidder_writes_per_minute: u32,
    /// Writes allowed at once before the per-minute pace applies.
    #[arg(long = "rate-burst", env = "BIDROOM_RATE_BURST", default_value_t = 60)]
    pub burst: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig { writes_per_minute: 600, bidder_writes_per_minute: 30, burst: 60 }
    }
}

/// HTTPS and WSS: both files, or neither (plain HTTP). The files are read
/// again on SIGHUP; connections already open keep their session.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first).
    #[arg(long = "tls-cert", env = "BIDROOM_TLS_CERT", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of that certificate.
    #[arg(long = "tls-key", env = "BIDROOM_TLS_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
}
