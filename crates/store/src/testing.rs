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
