/// The pages' Mustache templates and the stylesheet, compiled into raqamd: nothing to install
/// beside it, nothing fetched from a network (the view works offline). `{{ }}` escapes HTML;
/// `{{{ }}}` is used only for SVG the server drew itself.
enum WebTemplates {
    static let all: [String: String] = [
        "head": head, "foot": foot, "login": login, "nation": nation, "lagging": lagging, "region": region, "subject": subject,
    ]

    static let head = """
        <!doctype html>
        <html lang="{{lang}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · {{t.programme}}</title>
        <link rel="stylesheet" href="/static/raqam.css">
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
        </head>
        <body>
        <header class="top">
          <a class="brand" href="/{{q}}">{{t.programme}}</a>
          {{#signedIn}}
          <nav><a href="/{{q}}">{{t.nation}}</a> <a href="/lagging{{q}}">{{t.who_lags}}</a></nav>
          {{/signedIn}}
          <span class="langs">{{#langs}}<a href="{{href}}" hreflang="{{code}}"{{#current}} aria-current="true"{{/current}}>{{name}}</a> {{/langs}}</span>
          {{#signedIn}}
          <form class="logout" method="post" action="/logout"><button type="submit">{{t.sign_out}}</button></form>
          {{/signedIn}}
        </header>
        {{#signedIn}}
        <section class="time">
          <form method="get" action="{{path}}">
            <label>{{t.at}} <input type="date" name="at" value="{{atValue}}"></label>
            <label>{{t.known_at}} <input type="date" name="known_at" value="{{knownAtValue}}"></label>
            <input type="hidden" name="lang" value="{{lang}}">
            {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hidden}}
            <button type="submit">{{t.show}}</button>
          </form>
          <p class="freshness" id="freshness">{{t.as_of}} <time id="as-of">{{asOf}}</time> (Tashkent), {{knownText}}.
            {{t.newest_event}}: <span id="newest">{{newest}}</span>.
            {{#hasSilent}}{{t.silent_longest}}:{{/hasSilent}} {{#silent}}<a href="{{href}}">{{name}}</a> ({{t.since}} {{since}}){{^last}}, {{/last}}{{/silent}}</p>
        </section>
        {{/signedIn}}
        <main>
        """

    static let foot = """
        </main>
        <footer>raqam · {{position}} {{t.events}} · <a href="/v1/openapi.yaml">API</a></footer>
        </body>
        </html>
        """

    static let login = """
        {{> head}}
        <h1>{{t.sign_in}}</h1>
        <p>{{t.no_session}}</p>
        {{#hasMessage}}<p class="error" role="alert">{{message}}</p>{{/hasMessage}}
        <form method="post" action="/login" class="login">
          <label for="token">{{t.token}}</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required>
          <input type="hidden" name="next" value="{{next}}">
          <button type="submit">{{t.sign_in}}</button>
          <p class="help">{{t.token_help}}</p>
        </form>
        {{> foot}}
        """

    static let nation = """
        {{> head}}
        <h1>{{name}}</h1>
        <table class="figures" id="figures">
          <thead><tr><th>{{t.figure}}</th><th class="n">{{t.value}}</th><th class="n">{{t.target}}</th><th>{{t.progress}}</th><th class="n">{{t.pace}}</th></tr></thead>
          <tbody>
          {{#figures}}
            <tr id="figure-{{id}}" class="{{#behind}}behind{{/behind}}">
              <th scope="row">{{label}}</th>
              <td class="n value">{{value}}</td>
              <td class="n target">{{target}}</td>
              <td class="progress">{{#progress}}<svg width="120" height="10" role="img" aria-label="{{progress}}"><rect width="120" height="10" class="track"/><rect width="{{bar}}" height="10" class="bar"/></svg> <span>{{progress}}</span>{{/progress}}</td>
              <td class="n pace">{{pace}}</td>
            </tr>
          {{/figures}}
          </tbody>
        </table>
        <p class="help">{{t.pace_help}}</p>
        <h2>{{t.alerts_firing}}</h2>
        <table class="alerts" id="alerts-by-scope">
          <thead><tr><th>{{t.scope}}</th><th class="n">{{t.critical}}</th><th class="n">{{t.warning}}</th><th class="n">{{t.info}}</th><th class="n">{{t.flagged}}</th></tr></thead>
          <tbody>
          {{#scopes}}<tr id="scope-{{scope}}"><th scope="row">{{label}}</th><td class="n">{{critical}}</td><td class="n">{{warning}}</td><td class="n">{{info}}</td><td class="n flagged">{{flagged}}</td></tr>{{/scopes}}
          </tbody>
        </table>
        <h2>{{t.map}}</h2>
        <figure class="map">
        {{{map}}}
        <figcaption>{{t.map_note}}</figcaption>
        </figure>
        {{> foot}}
        """

    static let lagging = """
        {{> head}}
        <h1>{{t.who_lags}}</h1>
        <form method="get" action="/lagging" class="filters">
          <label>{{t.scope}} <select name="scope"><option value="">{{t.any}}</option>{{#scopeOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/scopeOptions}}</select></label>
          <label>{{t.region}} <select name="region"><option value="">{{t.any}}</option>{{#regionOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/regionOptions}}</select></label>
          <label>{{t.rule}} <select name="rule"><option value="">{{t.any}}</option>{{#ruleOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/ruleOptions}}</select></label>
          <label>{{t.severity}} <select name="severity"><option value="">{{t.any}}</option>{{#severityOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/severityOptions}}</select></label>
          <label><input type="checkbox" name="pending" value="true"{{#pending}} checked{{/pending}}> {{t.include_pending}}</label>
          {{#atValue}}<input type="hidden" name="at" value="{{atValue}}">{{/atValue}}
          {{#knownAtValue}}<input type="hidden" name="known_at" value="{{knownAtValue}}">{{/knownAtValue}}
          <input type="hidden" name="lang" value="{{lang}}">
          <button type="submit">{{t.show}}</button>
          <a class="csv" id="csv" href="{{csvHref}}" download>{{t.download_csv}}</a>
        </form>
        <p class="count" id="count" data-alerts="{{firing}}" data-orgs="{{orgs}}" data-districts="{{districts}}" data-regions="{{regions}}" data-nation="{{nationFlagged}}">{{countText}}</p>
        <table class="lagging" id="lagging">
          <thead><tr><th>{{t.subject}}</th><th>{{t.name}}</th><th>{{t.alert}}</th><th>{{t.severity}}</th><th class="n">{{t.value}}</th><th>{{t.since}}</th><th>{{t.summary}}</th></tr></thead>
          <tbody>
          {{#rows}}<tr class="{{state}} {{severity}}" data-scope="{{scope}}"><td><a href="{{href}}">{{subject}}</a></td><td>{{name}}</td><td>{{rule}}{{#pending}} ({{t.pending}}){{/pending}}</td><td>{{severityLabel}}</td><td class="n">{{value}}</td><td>{{since}}</td><td>{{summary}}</td></tr>{{/rows}}
          </tbody>
        </table>
        <p class="pager" id="lagging-pager"><span id="row-range">{{rowRange}}</span> {{#hasNewer}}<a id="previous" href="{{newer}}">← {{t.previous}}</a> {{/hasNewer}}<span>{{rowPages}}</span>{{#hasOlder}} <a id="next" href="{{older}}">{{t.next}} →</a>{{/hasOlder}}</p>
        {{> foot}}
        """

    static let region = """
        {{> head}}
        <h1>{{name}} <small>{{key}}</small></h1>
        <dl class="trends" id="region-trends">
          <div><dt>{{t.progress}}</dt><dd><span class="n">{{completion}}</span> <span id="trend-completion">{{{completionTrend}}}</span></dd></div>
          <div><dt>{{t.alerts_firing}}</dt><dd><span class="n">{{alertCount}}</span> <span id="trend-alerts">{{{alertsTrend}}}</span></dd></div>
        </dl>
        <p class="help">{{t.trend_help}}</p>
        <table class="districts" id="districts" data-sorted-by="{{sortedBy}}">
          <thead><tr><th>{{t.subject}}</th><th>{{t.name}}</th><th class="n"><a id="sort-completion" href="{{sorts.completion}}">{{t.progress}}</a></th><th>{{t.trend}}</th><th class="n"><a id="sort-overdue" href="{{sorts.overdue}}">{{t.overdue}}</a></th><th class="n"><a id="sort-alerts" href="{{sorts.alerts}}">{{t.alerts_firing}}</a></th><th><a id="sort-last_report" href="{{sorts.last_report}}">{{t.last_report}}</a></th></tr></thead>
          <tbody>
          {{#districts}}<tr class="{{#flagged}}flagged{{/flagged}}"><td><a href="{{href}}">{{key}}</a></td><td>{{name}}</td><td class="n completion">{{completion}}</td><td class="trend">{{{trend}}}</td><td class="n overdue">{{overdue}}</td><td class="n alerts">{{alerts}}</td><td class="last-report">{{lastReport}}</td></tr>{{/districts}}
          </tbody>
        </table>
        {{> foot}}
        """

    static let subject = """
        {{> head}}
        <h1>{{name}} <small>{{key}}</small></h1>
        {{#hasAlerts}}<h2>{{t.alerts_firing}}</h2>{{/hasAlerts}}
        <ul class="subject-alerts" id="subject-alerts">{{#alerts}}<li class="{{state}}"><strong>{{rule}}</strong> ({{severityLabel}}{{#pending}}, {{t.pending}}{{/pending}}): {{summary}} <span class="since">{{t.since}} {{since}}</span></li>{{/alerts}}</ul>
        {{#explanations}}
        <section class="explanation" id="{{id}}" data-rule="{{rule}}">
          <h3>{{t.why}}: {{rule}}</h3>
          <table class="clauses"><tbody>{{#clauses}}<tr class="{{#holds}}holds{{/holds}}{{#fails}}fails{{/fails}}"><td class="depth-{{indent}}"><code>{{text}}</code></td><td class="n clause-value">{{value}}</td></tr>{{/clauses}}</tbody></table>
          <ul class="evidence">{{#metrics}}<li data-metric="{{metric}}"><code>{{metric}}</code> = <strong>{{value}}</strong>, {{t.from}} {{total}} {{t.events}}{{#more}} ({{t.newest_shown}}){{/more}}:
            <ul>{{#events}}<li class="evidence-event" data-seq="{{seq}}" data-type="{{type}}"><a href="{{href}}">seq {{seq}}</a> <code>{{type}}</code> {{subject}} {{occurred}} · {{source}}</li>{{/events}}</ul></li>{{/metrics}}</ul>
        </section>
        {{/explanations}}
        <p class="trends" id="subject-trends">{{t.alerts_firing}} <span id="trend-alerts">{{{alertsTrend}}}</span></p>
        <table class="metrics" id="metrics">
          <thead><tr><th>{{t.figure}}</th><th class="n">{{t.value}}</th><th>{{t.trend}}</th></tr></thead>
          <tbody>{{#metrics}}<tr data-metric="{{name}}"><th scope="row"><code>{{name}}</code></th><td class="n">{{value}}</td><td class="trend">{{{trend}}}</td></tr>{{/metrics}}</tbody>
        </table>
        <p class="help">{{t.trend_help}}</p>
        <h2>{{t.events_title}} <small id="event-total">{{eventTotal}}</small></h2>
        <table class="events" id="events">
          <thead><tr><th class="n">seq</th><th>{{t.event_type}}</th><th>{{t.occurred}}</th><th>{{t.recorded}}</th><th>{{t.lateness}}</th><th>{{t.source}}</th></tr></thead>
          <tbody>{{#events}}<tr><td class="n"><a href="{{href}}">{{seq}}</a></td><td><code>{{type}}</code></td><td>{{occurred}}</td><td>{{recorded}}</td><td>{{lateness}}</td><td>{{source}}</td></tr>{{/events}}</tbody>
        </table>
        <p class="pager">{{#hasNewer}}<a id="newer" href="{{newer}}">← {{t.newer}}</a> {{/hasNewer}}<span>{{eventPages}}</span>{{#hasOlder}} <a id="older" href="{{older}}">{{t.older}} →</a>{{/hasOlder}}</p>
        {{#hasHistory}}
        <h2>{{t.alert_history}}</h2>
        <table class="history" id="history">
          <thead><tr><th>{{t.state}}</th><th>{{t.alert}}</th><th>{{t.at}}</th><th>{{t.since}}</th><th class="n">{{t.value}}</th><th>{{t.summary}}</th></tr></thead>
          <tbody>{{#history}}<tr class="{{state}}"><td>{{state}}</td><td>{{rule}}</td><td>{{at}}</td><td>{{since}}</td><td class="n">{{value}}</td><td>{{summary}}</td></tr>{{/history}}</tbody>
        </table>
        {{/hasHistory}}
        {{> foot}}
        """

    static let css = """
        :root { --ink: #1d2430; --muted: #5b6472; --line: #d8dde4; --accent: #0b6e4f; --warn: #b3541e; --crit: #a4161a; --bg: #fbfbfa; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
        header.top { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .6rem 1.2rem; background: #0b3d2e; color: #fff; }
        header.top a { color: #fff; text-decoration: none; }
        header.top .brand { font-weight: 700; }
        header.top nav a { margin-right: .8rem; }
        header.top .langs a[aria-current] { text-decoration: underline; }
        header.top form.logout { margin-left: auto; }
        section.time { padding: .5rem 1.2rem; border-bottom: 1px solid var(--line); background: #fff; }
        section.time form { display: flex; flex-wrap: wrap; gap: .8rem; align-items: center; }
        .freshness { margin: .3rem 0 0; color: var(--muted); font-size: 13px; }
        main { padding: 1rem 1.2rem 2rem; max-width: 1200px; }
        h1 small { color: var(--muted); font-weight: 400; font-size: 60%; }
        table { border-collapse: collapse; margin: .5rem 0 1rem; background: #fff; }
        th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        tr.behind .pace { color: var(--crit); font-weight: 600; }
        svg .track { fill: #e7eaee; } svg .bar { fill: var(--accent); }
        .help { color: var(--muted); font-size: 13px; max-width: 60rem; }
        .error { color: var(--crit); font-weight: 600; }
        form.login { display: grid; gap: .5rem; max-width: 26rem; }
        form.login input { padding: .4rem; font: inherit; }
        form.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: center; margin-bottom: .6rem; }
        tr.critical td:first-child { border-left: 3px solid var(--crit); }
        tr.warning td:first-child { border-left: 3px solid var(--warn); }
        tr.pending { color: var(--muted); }
        tr.flagged td:first-child { border-left: 3px solid var(--warn); }
        section.explanation { border-left: 3px solid var(--warn); padding: .2rem 1rem; margin: 1rem 0; background: #fff; }
        table.clauses tr.holds .clause-value { color: var(--crit); font-weight: 600; }
        table.clauses tr.fails .clause-value { color: var(--muted); }
        td.depth-1 { padding-left: 1.6rem; } td.depth-2 { padding-left: 2.8rem; } td.depth-3 { padding-left: 4rem; }
        figure.map svg text { font-size: 11px; fill: #1d2430; pointer-events: none; }
        figure.map svg text.dark { fill: #fff; }
        figure.map svg rect { stroke: #fff; stroke-width: 2; }
        figcaption { color: var(--muted); font-size: 13px; }
        svg.spark { vertical-align: middle; } svg.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; } svg.spark circle { fill: var(--accent); }
        dl.trends { display: flex; gap: 2rem; margin: .4rem 0; } dl.trends dt { color: var(--muted); font-size: 13px; } dl.trends dd { margin: 0; font-size: 18px; }
        footer { padding: 1rem 1.2rem; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); }
        """

    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b3d2e"/><path d="M3 12V7h2v5zm4 0V4h2v8zm4 0V8h2v4z" fill="#fff"/></svg>
        """
}
