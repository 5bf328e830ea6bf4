//! The search benchmark: stores N 200-byte messages (mixed English and
//! Chinese, many conversations over a few sites) in a fresh store through
//! the store's own batch API, builds the search index from it the way a
//! relay does when `<data-dir>/search` is missing, and prints the index's
//! size on disk, the build time, and query latency (p50/p99) over a few
//! hundred mixed queries (English words, word pairs, Chinese substrings)
//! through the index's own query path (search + snippets).
//!
//! `kefu-search --messages 1000000 --queries 400` prints one line:
//! `messages=… index_bytes=… bytes_per_msg=… build_s=… docs=… q_p50_ms=… q_p99_ms=…`.

use anyhow::{Context, Result};
use kefu_bench::text::Chat;
use protocol::{Author, Cid, ConvId, Event, EventBody, Side, SiteId, UserInfo, VisitorId};
use relay::search::{snippet, tokenize, Request, Search};
use relay::store::{encode, encode_event, keys, ConvRecord, Store, VisitorRecord};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Messages per conversation (a chat of a few minutes).
const PER_CONV: u64 = 20;
/// Sites the conversations are spread over.
const SITES: usize = 4;
fn arg(name: &str, default: usize) -> Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .context("a number after the flag")?
            .parse()
            .with_context(|| format!("{name} takes a number")),
        None => Ok(default),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> Result<()> {
    let n = arg("--messages", 1_000_000)?;
    let queries = arg("--queries", 400)?;
    let tmp = tempfile::tempdir()?;
    let store = Arc::new(Store::open(&tmp.path().join("sled"))?);
    let mut chat = Chat::new(0x9E37_79B9_7F4A_7C15);
    let sites: Vec<SiteId> = (0..SITES)
        .map(|i| SiteId::new(format!("site{i}")))
        .collect::<Result<_, _>>()?;
    for s in &sites {
        relay::auth::create_site(&store, s.clone(), s.as_str())?;
    }
    let convs = (n as u64).div_ceil(PER_CONV);
    let t0 = Instant::now();
    let base = 1_700_000_000_000u64;
    let mut written = 0u64;
    let mut samples: Vec<String> = Vec::new();
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    for c in 0..convs {
        let site = &sites[c as usize % SITES];
        let visitor = VisitorId::new(format!("v{c}"))?;
        let id = ConvId::new(format!("{:026}", c))?;
        let msgs = PER_CONV.min(n as u64 - written);
        let start = base + c * 60_000;
        for seq in 1..=msgs {
            let text = chat.message();
            if samples.len() < 2000 && chat.rng.below(50) == 0 {
                samples.push(text.clone());
            }
            let side = if seq % 2 == 1 {
                Side::Visitor
            } else {
                Side::Agent
            };
            let ev = Event {
                conv: id.clone(),
                seq,
                ts: start + seq * 1000,
                body: EventBody::Message {
                    from: Author {
                        side,
                        id: if side == Side::Visitor {
                            visitor.to_string()
                        } else {
                            "agent1".into()
                        },
                        name: None,
                    },
                    cid: Cid::new(format!("m{seq}"))?,
                    text,
                    file: None,
                },
            };
            batch.insert(keys::event(&id, seq), encode_event(&ev)?);
            in_batch += 1;
        }
        written += msgs;
        let rec = ConvRecord {
            open: c % 3 != 0,
            last_seq: msgs,
            updated: start + msgs * 1000,
            visitor_read: msgs,
            agent_read: msgs,
            ..ConvRecord::new(id.clone(), site.clone(), visitor.clone(), start)
        };
        batch.insert(keys::conv(&id), encode(&rec)?);
        batch.insert(keys::site_conv(site, &id), &[][..]);
        batch.insert(keys::visitor_conv(site, &visitor, &id), &[][..]);
        store.put_visitor(&VisitorRecord {
            last_seen: start + msgs * 1000,
            visits: 1,
            user: (c % 4 == 0).then(|| UserInfo {
                name: Some(format!(
                    "{} {}",
                    chat.words[chat.rng.zipf(chat.words.len())],
                    chat.words[chat.rng.below(chat.words.len())]
                )),
                email: Some(format!("{visitor}@example.com")),
                ..UserInfo::default()
            }),
            visit_start: start,
            visit_pages: 1,
            ..VisitorRecord::new(site, &visitor, start)
        })?;
        if in_batch >= 20_000 {
            store.apply_chat(std::mem::take(&mut batch))?;
            in_batch = 0;
        }
    }
    store.apply_chat(batch)?;
    store.sync()?;
    eprintln!(
        "kefu-search: stored {written} messages in {convs} conversations in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let dir = tmp.path().join("search");
    let t1 = Instant::now();
    let search = Search::open_with(&dir, store.clone(), relay::search::WRITER_BYTES)?;
    while !search.complete() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let build = t1.elapsed();
    // Let background merges settle before measuring size and queries.
    std::thread::sleep(Duration::from_secs(3));
    let bytes = search.disk_bytes();
    let docs = search.docs();

    // Mixed queries: frequent and rare words, word pairs, Chinese 2- and
    // 3-character substrings taken from stored messages.
    let Chat { rng, words, .. } = &mut chat;
    let mut qs: Vec<String> = Vec::with_capacity(queries);
    while qs.len() < queries {
        let q = match qs.len() % 4 {
            0 => words[rng.zipf(words.len())].clone(),
            1 => words[rng.below(words.len())].clone(),
            2 => format!("{} {}", words[rng.zipf(200)], words[rng.zipf(words.len())]),
            _ => {
                let s = &samples[rng.below(samples.len())];
                let cs: Vec<char> = s.chars().filter(|c| tokenize::is_cjk(*c)).collect();
                if cs.len() < 3 {
                    continue;
                }
                let len = 2 + rng.below(2);
                let at = rng.below(cs.len() - len);
                cs[at..at + len].iter().collect()
            }
        };
        qs.push(q);
    }
    let mut lat = Vec::with_capacity(qs.len());
    let mut hits_total = 0usize;
    for (i, q) in qs.iter().enumerate() {
        let req = Request {
            site: sites[i % SITES].clone(),
            needles: tokenize::needles(q),
            from: None,
            to: None,
            cursor: None,
            limit: protocol::limits::DEFAULT_SEARCH_PAGE,
        };
        let t = Instant::now();
        let (found, _) = search.search(&req, |_| true)?;
        for f in &found {
            std::hint::black_box(snippet(&f.text, &req.needles));
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        hits_total += found.len();
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "messages={written} index_bytes={bytes} bytes_per_msg={:.0} build_s={:.1} docs={docs} queries={} q_p50_ms={:.2} q_p99_ms={:.2} hits_per_query={:.1}",
        bytes as f64 / written as f64,
        build.as_secs_f64(),
        qs.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        hits_total as f64 / qs.len() as f64,
    );
    Ok(())
}
