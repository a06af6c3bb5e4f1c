//! Server-rendered SVG charts: no script, no inline style (the CSP allows none), colours from
//! the stylesheet's classes, a title and a description for screen readers.

use std::fmt::Write;

pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
    /// `good` or `bad`: the stylesheet colours them.
    pub class: &'static str,
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars, one per row, with the label on the left and the value's text after the bar.
pub fn bars(title: &str, bars: &[Bar], max: Option<f64>) -> String {
    let row = 26.0;
    let label_w = 130.0;
    let bar_w = 220.0;
    let width = label_w + bar_w + 110.0;
    let height = 30.0 + row * bars.len().max(1) as f64;
    let max = max
        .unwrap_or_else(|| bars.iter().map(|b| b.value).fold(0.0, f64::max))
        .max(1e-9);
    let mut svg = String::new();
    let desc: Vec<String> = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, b.text))
        .collect();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\"><title>{}</title><desc>{}</desc>",
        esc(title),
        esc(title),
        esc(&desc.join("; "))
    );
    let _ = write!(
        svg,
        "<text class=\"chart-title\" x=\"0\" y=\"16\">{}</text>",
        esc(title)
    );
    if bars.is_empty() {
        let _ = write!(svg, "<text class=\"chart-label\" x=\"0\" y=\"44\">—</text>");
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = 30.0 + row * i as f64;
        let w = (bar.value / max * bar_w).clamp(0.0, bar_w);
        let _ = write!(
            svg,
            "<text class=\"chart-label\" x=\"0\" y=\"{:.1}\">{}</text>\
             <rect class=\"chart-track\" x=\"{label_w}\" y=\"{:.1}\" width=\"{bar_w}\" height=\"16\" rx=\"3\"/>\
             <rect class=\"chart-bar {}\" x=\"{label_w}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"16\" rx=\"3\"/>\
             <text class=\"chart-value\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            y + 12.5,
            esc(&bar.label),
            y,
            bar.class,
            y,
            label_w + bar_w + 8.0,
            y + 12.5,
            esc(&bar.text)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A daily series as columns (a missing day leaves a gap), with a dashed target line.
pub fn daily(
    title: &str,
    days: &[(String, Option<f64>)],
    max: f64,
    target: f64,
    unit: &str,
) -> String {
    let (left, top, plot_w, plot_h) = (34.0, 26.0, 420.0, 110.0);
    let width = left + plot_w + 10.0;
    let height = top + plot_h + 24.0;
    let step = plot_w / days.len().max(1) as f64;
    let max = max.max(1e-9);
    let y_of = |v: f64| top + plot_h - (v / max).clamp(0.0, 1.0) * plot_h;
    let mut svg = String::new();
    let desc: Vec<String> = days
        .iter()
        .map(|(d, v)| match v {
            Some(v) => format!("{d}: {v:.0}{unit}"),
            None => format!("{d}: —"),
        })
        .collect();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\"><title>{}</title><desc>{}</desc>\
         <text class=\"chart-title\" x=\"0\" y=\"14\">{}</text>",
        esc(title),
        esc(title),
        esc(&desc.join("; ")),
        esc(title)
    );
    let _ = write!(
        svg,
        "<line class=\"chart-axis\" x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\
         <text class=\"chart-tick\" x=\"0\" y=\"{:.1}\">{max:.0}{}</text>\
         <text class=\"chart-tick\" x=\"0\" y=\"{:.1}\">0</text>",
        top + plot_h,
        left + plot_w,
        top + plot_h,
        top + 4.0,
        esc(unit),
        top + plot_h
    );
    for (i, (day, value)) in days.iter().enumerate() {
        let x = left + step * i as f64 + 1.0;
        if let Some(v) = value {
            let y = y_of(*v);
            let class = if unit == "%" {
                if *v >= target { "good" } else { "bad" }
            } else if *v <= target {
                "good"
            } else {
                "bad"
            };
            let _ = write!(
                svg,
                "<rect class=\"chart-bar {class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}: {v:.0}{}</title></rect>",
                (step - 2.0).max(1.0),
                top + plot_h - y,
                esc(day),
                esc(unit)
            );
        }
        let last = i + 1 == days.len();
        if last || (i % 7 == 0 && days.len() - 1 - i >= 3) {
            let _ = write!(
                svg,
                "<text class=\"chart-tick\" x=\"{x:.1}\" y=\"{:.1}\">{}</text>",
                top + plot_h + 16.0,
                esc(day)
            );
        }
    }
    let ty = y_of(target);
    let _ = write!(
        svg,
        "<line class=\"chart-target\" x1=\"{left}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\"/>",
        left + plot_w
    );
    svg.push_str("</svg>");
    svg
}
