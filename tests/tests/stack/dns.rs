//! The zone file parses (named-checkzone) and says what the seed documents say.

use std::process::Command;

fn checkzone(path: &std::path::Path) -> (bool, String) {
    let output = Command::new("named-checkzone")
        .args(["-D", "-o", "-", "foobar.com"])
        .arg(path)
        .output()
        .expect("named-checkzone is installed (Debian bind9utils; `make deps`)");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// `(name, type, data)` of every record in named-checkzone's canonical dump.
fn records(dump: &str) -> Vec<(String, String, String)> {
    dump.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 5 && fields[2] == "IN")
                .then(|| (fields[0].into(), fields[3].into(), fields[4..].join(" ")))
        })
        .collect()
}

#[test]
fn zone_is_valid_and_www_is_a_cname_to_the_apex_with_an_address() {
    www_is_a_cname_to_the_apex_with_an_address("dns/foobar.com.zone");
}

#[test]
fn cluster_zone_points_www_at_the_virtual_ip_not_at_a_host() {
    let apex = www_is_a_cname_to_the_apex_with_an_address("dns/foobar.com.cluster.zone");
    let (_, dump) = checkzone(
        &foobar_tools::repo_root()
            .unwrap()
            .join("dns/foobar.com.cluster.zone"),
    );
    let hosts: Vec<String> = records(&dump)
        .into_iter()
        .filter(|(name, kind, _)| kind == "A" && name.starts_with('h'))
        .map(|(_, _, data)| data)
        .collect();
    assert_eq!(hosts.len(), 3, "three hosts");
    assert!(!hosts.contains(&apex), "www resolves to no single host");
}

/// Checks the zone at `path` (from the repository root); returns the apex's address.
fn www_is_a_cname_to_the_apex_with_an_address(path: &str) -> String {
    let (ok, dump) = checkzone(&foobar_tools::repo_root().unwrap().join(path));
    assert!(ok, "named-checkzone rejects the zone:\n{dump}");
    let records = records(&dump);
    let find = |name: &str, kind: &str| {
        records
            .iter()
            .find(|(n, k, _)| n == name && k == kind)
            .map(|(_, _, data)| data.clone())
    };
    assert_eq!(
        find("www.foobar.com.", "CNAME").as_deref(),
        Some("foobar.com.")
    );
    let apex = find("foobar.com.", "A").expect("the apex has an A record");
    assert!(apex.parse::<std::net::Ipv4Addr>().is_ok(), "{apex}");
    assert!(find("foobar.com.", "SOA").is_some() && find("foobar.com.", "NS").is_some());
    apex
}

#[test]
fn checker_rejects_a_broken_zone() {
    let broken = std::env::temp_dir().join(format!("foobar-broken-{}.zone", std::process::id()));
    // A CNAME beside other data at the same name is illegal.
    std::fs::write(
        &broken,
        "$TTL 60\n@ IN SOA ns1 h 1 1 1 1 1\n@ IN NS ns1\nns1 IN A 203.0.113.1\nwww IN CNAME @\nwww IN A 203.0.113.2\n",
    )
    .unwrap();
    let (ok, _) = checkzone(&broken);
    std::fs::remove_file(&broken).ok();
    assert!(!ok, "named-checkzone must reject a CNAME with other data");
}
