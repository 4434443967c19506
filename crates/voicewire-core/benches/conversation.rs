//! Cost of the per-delta conversation path as the conversation grows: appending a transcript
//! delta to the newest item, to an item reached through a replay alias, and inserting a new
//! item into a full conversation (which evicts the oldest). With the hash index these stay
//! flat from 16 to 4096 kept items.
//!
//! `cargo bench -p voicewire-core --bench conversation -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use voicewire_core::{Conversation, ConversationItem, ItemKind, ItemStatus, Role};

fn full_conversation(items: usize) -> Conversation {
    let mut c = Conversation::with_max_items(None, items);
    for n in 0..items {
        let mut item = ConversationItem::new(
            format!("item_{n}"),
            ItemKind::Message {
                role: Role::Assistant,
            },
        );
        item.status = ItemStatus::Completed;
        c.upsert(item, None);
    }
    c.alias("replayed_0", "item_0");
    c
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("conversation");
    for items in [16usize, 512, 4096] {
        let newest = format!("item_{}", items - 1);
        group.bench_with_input(
            BenchmarkId::new("append_delta_newest", items),
            &items,
            |b, &items| {
                let mut conv = full_conversation(items);
                b.iter(|| {
                    assert!(conv.append_text(black_box(&newest), "x"));
                    // Keep the text from growing without bound across iterations.
                    if let Some(item) = conv.get_mut(&newest)
                        && item.text.len() > 4096
                    {
                        item.text.clear();
                    }
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("append_delta_oldest_via_alias", items),
            &items,
            |b, &items| {
                let mut conv = full_conversation(items);
                b.iter(|| {
                    assert!(conv.append_text(black_box("replayed_0"), "x"));
                    if let Some(item) = conv.get_mut("item_0")
                        && item.text.len() > 4096
                    {
                        item.text.clear();
                    }
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("insert_with_eviction", items),
            &items,
            |b, &items| {
                let mut conv = full_conversation(items);
                let mut n = items;
                b.iter(|| {
                    let mut item = ConversationItem::new(
                        format!("item_{n}"),
                        ItemKind::Message { role: Role::User },
                    );
                    item.status = ItemStatus::Completed;
                    conv.upsert(item, None);
                    n += 1;
                });
                assert_eq!(conv.len(), items);
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
