//! `zhongtai search`: full-text search of the catalog within what the
//! caller may see, best match first.

use std::process::ExitCode;

use clap::Args;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::common::v1::Tenant;

use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs};
use super::labels;
use super::output::{print_next_page, print_proto_json, print_table};
use super::rpc::{self, Answer as _};

#[derive(Args)]
pub struct SearchArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Free text, e.g. 婚姻 or "marriage registration"; empty lists everything the filters match
    #[arg(default_value = "")]
    query: String,
    /// Only resources of this owner (repeatable)
    #[arg(long, value_parser = flags::tenant)]
    owner: Vec<Tenant>,
    /// Only this layer (repeatable): raw, base, theme
    #[arg(long, value_parser = flags::enum_value("zhongtai.catalog.v1.ResourceLayer"))]
    layer: Vec<i32>,
    /// Only this sharing attribute (repeatable): unconditional, conditional, not-shared
    #[arg(long, value_parser = flags::enum_value("zhongtai.catalog.v1.SharingAttribute"))]
    sharing: Vec<i32>,
    /// Only this open attribute (repeatable): open, restricted, closed
    #[arg(long, value_parser = flags::enum_value("zhongtai.catalog.v1.OpenAttribute"))]
    open: Vec<i32>,
    /// Only resources carrying this tag (repeatable; all must match)
    #[arg(long)]
    tag: Vec<String>,
    /// Only this update frequency (repeatable): real-time, daily, …
    #[arg(long, value_parser = flags::enum_value("zhongtai.catalog.v1.UpdateFrequency"))]
    frequency: Vec<i32>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::catalog(&args.target)?
        .search_resources(pb::SearchResourcesRequest {
            page: args.page.request(),
            query: args.query,
            owners: args.owner,
            layers: args.layer,
            sharing: args.sharing,
            open: args.open,
            tags: args.tag,
            update_frequencies: args.frequency,
        })
        .await
        .answer("search the catalog")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .results
        .iter()
        .map(|result| {
            let resource = result.resource.clone().unwrap_or_default();
            vec![
                resource.id.clone(),
                resource.title.clone(),
                labels::tenant(resource.owner.as_ref()),
                format!("{:.3}", result.score),
                if result.granted { "yes" } else { "" }.to_string(),
                labels::clip(
                    &labels::list(result.highlights.iter().map(|h| emphasis(h))),
                    80,
                ),
            ]
        })
        .collect();
    print_table(
        &["ID", "TITLE", "OWNER", "SCORE", "GRANTED", "HIGHLIGHTS"],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// Matched terms come wrapped in `<em>…</em>`; a terminal shows `[…]`.
fn emphasis(highlight: &str) -> String {
    highlight.replace("<em>", "[").replace("</em>", "]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matched_terms_are_bracketed() {
        assert_eq!(emphasis("<em>婚姻</em>登记信息"), "[婚姻]登记信息");
    }
}
