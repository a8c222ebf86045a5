// The live page at "/" of the HTTP endpoint: one self-contained HTML page
// (no build step, nothing from other hosts) that asks /api/top each second
// and draws packets, drops and latency per second as charts, with the
// ports, workers and drops as tables.
#pragma once

namespace bypass {

// The page, UTF-8 HTML.
const char* live_page_html();

}  // namespace bypass
