//! Instant queries to Prometheus's HTTP API, keyed by the address in each series' `instance`.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

#[derive(Deserialize)]
struct Response {
    status: String,
    data: Option<Data>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    result: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    metric: HashMap<String, String>,
    value: (f64, String),
}

pub struct Prometheus {
    client: reqwest::Client,
    url: String,
}

impl Prometheus {
    pub fn new(url: &str) -> Result<Self> {
        Ok(Prometheus {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            url: format!("{}/api/v1/query", url.trim_end_matches('/')),
        })
    }

    /// The query's value per `instance` host (its address, without the port).
    pub async fn by_instance(&self, query: &str) -> Result<HashMap<String, f64>> {
        let response: Response = self
            .client
            .get(&self.url)
            .query(&[("query", query)])
            .send()
            .await
            .with_context(|| format!("querying {}", self.url))?
            .json()
            .await
            .context("Prometheus's answer")?;
        if response.status != "success" {
            bail!("Prometheus: {}", response.error.unwrap_or(response.status));
        }
        Ok(by_host(response.data.map(|d| d.result).unwrap_or_default()))
    }
}

fn by_host(samples: Vec<Sample>) -> HashMap<String, f64> {
    samples
        .into_iter()
        .filter_map(|s| {
            let instance = s.metric.get("instance")?;
            let host = instance
                .rsplit_once(':')
                .map_or(instance.as_str(), |(h, _)| h);
            let value: f64 = s.value.1.parse().ok()?;
            value.is_finite().then(|| (host.to_owned(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_keyed_by_the_instance_address_and_nan_is_dropped() {
        let answer = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"10.0.2.6:9464","job":"app"},"value":[1.5,"0.125"]},
            {"metric":{"instance":"10.0.2.7:9464","job":"app"},"value":[1.5,"NaN"]}]}}"#;
        let response: Response = serde_json::from_str(answer).unwrap();

        let values = by_host(response.data.unwrap().result);

        assert_eq!(values, HashMap::from([("10.0.2.6".to_owned(), 0.125)]));
    }
}
