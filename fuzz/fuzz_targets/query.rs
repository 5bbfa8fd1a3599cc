//! Search queries come from anyone who can reach the API: parsing and
//! compiling any text must end with a query or a positioned error, never a
//! panic, and the position must lie inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loghaul_indexer::query;
use loghaul_indexer::schema::Fields;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match query::parse(text) {
        Ok(ast) => {
            let fields = Fields::new();
            let mut analyzer = tantivy::tokenizer::TokenizerManager::default()
                .get("default")
                .expect("default tokenizer");
            if let Err(error) = query::compile(&ast, &fields, &mut analyzer) {
                assert!(error.position <= text.len());
            }
        }
        Err(error) => {
            assert!(error.position <= text.len().max(query::MAX_QUERY_BYTES));
            let _ = error.render(text);
        }
    }
});
