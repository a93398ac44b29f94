//! `GET /`: the dashboard, one self-contained page (inline CSS, JS and hand-drawn SVG; nothing
//! fetched from another host) that polls `/status`, `/history`, `/cost`, `/pools`, `/local` and
//! `/healthz` of this same API and draws them.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("dashboard.html");

/// Only this origin's API may be fetched; scripts and styles are the page's own inline ones.
const CSP: &str = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn serves_one_self_contained_html_page() {
        let r = page().await;
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'unsafe-inline'"), "{csp}");
        let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
        let body = std::str::from_utf8(&body).unwrap();
        assert!(body.starts_with("<!doctype html>"));
        assert!(!body.to_ascii_lowercase().contains("<script src"), "no external scripts");
        // The only absolute URL is the SVG namespace, which is a name, never fetched.
        for scheme in ["http://", "https://"] {
            for (at, _) in body.match_indices(scheme) {
                assert!(
                    body[at..].starts_with("http://www.w3.org/2000/svg\""),
                    "URL to another host at byte {at}: {}",
                    &body[at..(at + 60).min(body.len())]
                );
            }
        }
        assert!(!body.contains("@import") && !body.contains("url("), "no external styles or fonts");
        for id in ["service", "tasks-chart", "metrics", "cost", "pools", "decision", "local"] {
            assert!(body.contains(&format!("id=\"{id}\"")), "#{id} missing");
        }
    }
}
