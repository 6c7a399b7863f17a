//! A throwaway PostgreSQL database for tests (this crate's conformance suite and the server's
//! integration tests). Tests that use it fail, not skip, when no server answers.

use uuid::Uuid;

/// A fresh, uniquely named database on GATEHOUSE_TEST_DATABASE_URL (default: the local server).
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// Creates the database; panics with the reason when PostgreSQL cannot be reached.
    pub async fn create() -> Self {
        Self::create_in(None).await
    }

    /// Creates the database with its tables in `location`, a folder the PostgreSQL server's user may
    /// write (a tablespace of the database's own, dropped with it): a small disk, for fault tests.
    pub async fn create_on(location: &std::path::Path) -> Self {
        Self::create_in(Some(location)).await
    }

    async fn create_in(location: Option<&std::path::Path>) -> Self {
        use sqlx::Connection;
        let admin_url = std::env::var("GATEHOUSE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("gatehouse_test_{}", Uuid::new_v4().simple());
        let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) => panic!("PostgreSQL at {admin_url} is required for this test: {e}"),
        };
        let mut create = format!("CREATE DATABASE {name}");
        if let Some(dir) = location {
            let dir = dir.display().to_string().replace('\'', "''");
            if let Err(e) = sqlx::query(&format!("CREATE TABLESPACE {name} LOCATION '{dir}'"))
                .execute(&mut conn)
                .await
            {
                panic!("cannot create tablespace {name} in {dir}: {e}");
            }
            create.push_str(&format!(" TABLESPACE {name}"));
        }
        if let Err(e) = sqlx::query(&create).execute(&mut conn).await {
            panic!("cannot create test database {name}: {e}");
        }
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin_url.clone());
        Self {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        }
    }

    /// Opens or closes the database to new connections and ends the current ones: an outage, as far as
    /// a server using it can tell.
    pub async fn set_reachable(&self, reachable: bool) {
        use sqlx::Connection;
        let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await else {
            panic!("PostgreSQL at {} is required for this test", self.admin_url);
        };
        let allow = if reachable { "true" } else { "false" };
        let _ = sqlx::query(&format!("ALTER DATABASE {} ALLOW_CONNECTIONS {allow}", self.name))
            .execute(&mut conn)
            .await;
        if !reachable {
            let _ = sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
                .bind(&self.name)
                .execute(&mut conn)
                .await;
        }
    }

    /// Ends every connection to the database (as a PostgreSQL restart or a network cut would), leaving
    /// it open to new ones.
    pub async fn kill_connections(&self) {
        use sqlx::Connection;
        let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await else {
            panic!("PostgreSQL at {} is required for this test", self.admin_url);
        };
        let _ = sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&self.name)
            .execute(&mut conn)
            .await;
    }

    pub async fn drop_now(self) {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                .execute(&mut conn)
                .await;
            let _ = sqlx::query(&format!("DROP TABLESPACE IF EXISTS {}", self.name))
                .execute(&mut conn)
                .await;
        }
    }
}

/// A PostgreSQL server of the test's own: a new cluster (`initdb`) in a temporary folder, listening on
/// a free loopback port, so that a test may stop and restart the server without disturbing the tests
/// that share the machine's. It runs as the `postgres` user, which needs root; `start` says why it
/// could not, for the test to skip (or fail under CI).
pub struct PgCluster {
    dir: std::path::PathBuf,
    bin: std::path::PathBuf,
    port: u16,
}

impl PgCluster {
    pub fn start() -> Result<Self, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no PostgreSQL binaries in /usr/lib/postgresql: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|p| p.join("initdb").exists())
            .ok_or("no initdb under /usr/lib/postgresql")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir = std::env::temp_dir().join(format!("gatehouse-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let cluster = Self { dir, bin, port };
        cluster.run(
            "chown",
            &["postgres:postgres", &cluster.dir.display().to_string()],
        )?;
        let data = cluster.data();
        cluster.as_postgres(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        )?;
        cluster.pg_ctl("start")?;
        Ok(cluster)
    }

    /// The cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (ending every session at once, as `-m fast` does) and starts it again; returns
    /// when it accepts connections.
    pub fn restart(&self) -> Result<(), String> {
        self.pg_ctl("restart")
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn pg_ctl(&self, action: &str) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        let data = self.data();
        self.as_postgres(
            "pg_ctl",
            &[
                action, "-D", &data, "-m", "fast", "-w", "-t", "30", "-l", &log, "-o", &options,
            ],
        )
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let tool = self.bin.join(tool).display().to_string();
        let mut all = vec!["-u", "postgres", "--", tool.as_str()];
        all.extend_from_slice(args);
        self.run("runuser", &all)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = std::process::Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.as_postgres("pg_ctl", &["stop", "-D", &data, "-m", "immediate", "-w"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
