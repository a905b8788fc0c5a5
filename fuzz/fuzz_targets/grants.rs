//! Host grants and request destinations: `scheme://host[:port]` grants from the manifest,
//! request URIs from a guest, and the matching between them.
//!
//! Input: lines — a grant, a request URI, a second grant. Checked: a grant prints as text that
//! parses back to itself; a destination prints as a URI that parses back to itself; `covers`
//! is reflexive and sound (a grant that covers another allows all it allows).

#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::grants::{Destination, HostGrant};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.lines();
    let grant = lines.next().and_then(|line| HostGrant::parse(line).ok());
    let destination = lines
        .next()
        .and_then(|line| line.parse::<http::Uri>().ok())
        .and_then(|uri| Destination::of_uri(&uri).ok());
    let wider = lines.next().and_then(|line| HostGrant::parse(line).ok());

    if let Some(grant) = &grant {
        let shown = grant.to_string();
        assert_eq!(HostGrant::parse(&shown).as_ref(), Ok(grant), "{shown}");
        assert!(grant.covers(grant), "{shown}");
    }
    if let Some(destination) = &destination {
        let shown = destination.to_string();
        let uri: http::Uri = shown.parse().expect("a destination prints as a URI");
        assert_eq!(
            Destination::of_uri(&uri).as_ref(),
            Ok(destination),
            "{shown}"
        );
    }
    if let (Some(grant), Some(wider), Some(destination)) = (&grant, &wider, &destination)
        && wider.covers(grant)
        && grant.allows(destination)
    {
        assert!(
            wider.allows(destination),
            "{wider} covers {grant} but not {destination}"
        );
    }
});
