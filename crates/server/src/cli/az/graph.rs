//! The Graph API of the server `gatehouse login` signed in to: one request (Graph's error message on
//! failure), every page of a collection, and finding applications and service principals the way az
//! does (appId first, then object id or name).

use reqwest::Method;
use serde_json::Value;
use url::form_urlencoded;

use crate::cli::session::{self, Session};

/// The Graph API of the logged-in server.
pub struct Graph {
    http: reqwest::Client,
    pub(super) session: Session,
}

impl Graph {
    pub fn connect() -> Result<Self, String> {
        let session = session::load()?;
        Ok(Self {
            http: session::http_client(session.ca_file.as_ref())?,
            session,
        })
    }

    /// A request to `/v1.0/{path}`; a failure is Graph's message and the status.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}/v1.0/{path}", self.session.server);
        self.call_url(method, &url, body).await
    }

    pub(super) async fn call_url(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(&self.session.access_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| session::unreachable(&self.session.server, &e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            Ok(value)
        } else {
            let msg = value["error"]["message"].as_str().unwrap_or("request failed");
            Err(format!("{} ({})", msg, status.as_u16()))
        }
    }

    /// Every entity of a collection, following `@odata.nextLink` to the last page, as az does.
    pub(super) async fn list(&self, set: &str, filter: Option<String>) -> Result<Value, String> {
        let mut url = format!("{}/v1.0/{set}", self.session.server);
        if let Some(f) = filter {
            url = format!(
                "{url}?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("$filter", &f)
                    .finish()
            );
        }
        let mut all = Vec::new();
        loop {
            let page = self.call_url(Method::GET, &url, None).await?;
            all.extend(page["value"].as_array().cloned().unwrap_or_default());
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => return Ok(Value::Array(all)),
            }
        }
    }

    /// An application by appId (tried first, as az does), object id, or identifier URI.
    pub(super) async fn application(&self, id: &str) -> Result<Value, String> {
        if uuid::Uuid::parse_str(id).is_err() {
            let found = self
                .list(
                    "applications",
                    Some(format!("identifierUris/any(s:s eq '{}')", quoted(id))),
                )
                .await?;
            return found
                .as_array()
                .and_then(|a| a.first().cloned())
                .ok_or_else(|| format!("no application has the appId, object id or identifier URI '{id}'"));
        }
        match self
            .call(Method::GET, &format!("applications(appId='{id}')"), None)
            .await
        {
            Ok(v) => Ok(v),
            Err(_) => self.call(Method::GET, &format!("applications/{id}"), None).await,
        }
    }

    /// The service principal of an application (by appId) in this tenant, if there is one.
    pub(super) async fn service_principal(&self, app_id: &str) -> Result<Option<Value>, String> {
        let list = self
            .list(
                "servicePrincipals",
                Some(format!("appId eq '{}'", quoted(app_id))),
            )
            .await?;
        Ok(list.as_array().and_then(|v| v.first().cloned()))
    }

    /// A service principal by its application's appId (tried first), one of its names, or its own
    /// object id.
    pub(super) async fn find_service_principal(&self, id: &str) -> Result<Value, String> {
        if let Some(sp) = self.service_principal(id).await? {
            return Ok(sp);
        }
        let named = self
            .list(
                "servicePrincipals",
                Some(format!("servicePrincipalNames/any(c:c eq '{}')", quoted(id))),
            )
            .await?;
        if let Some(sp) = named.as_array().and_then(|a| a.first()) {
            return Ok(sp.clone());
        }
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(format!(
                "no service principal has the appId, name or object id '{id}'"
            ));
        }
        self.call(Method::GET, &format!("servicePrincipals/{id}"), None)
            .await
    }
}

/// A value inside an OData string literal: single quotes doubled.
pub(super) fn quoted(v: &str) -> String {
    v.replace('\'', "''")
}

pub(super) fn str_of(v: &Value, key: &str) -> Result<String, String> {
    v[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("the server's answer has no '{key}'"))
}
