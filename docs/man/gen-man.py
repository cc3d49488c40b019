#!/usr/bin/env python3
"""Man pages from cbuild's own --help text, the one source: cbuild(1) from `cbuild --help`,
cbuild-VERB(1) from `cbuild VERB --help`.

usage: gen-man.py CBUILD OUTDIR VERB...
The VERBs (meson's list of outputs) must be exactly the commands `cbuild --help` lists, so a
new verb without a page fails the build instead of going undocumented."""
import os
import re
import subprocess
import sys


def run_help(cbuild, *args):
    env = dict(os.environ, TERM="dumb", NO_COLOR="1")
    out = subprocess.run([cbuild, *args, "--help"], capture_output=True, text=True, env=env, check=True)
    return out.stdout


def roff(text):
    """Escape text for roff: backslashes, hyphens (as minus signs in flags), leading dots."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", text)


def parse(help_text):
    """Usage line, description lines and named sections of `Options:`/`Commands:` rows."""
    lines = help_text.rstrip("\n").split("\n")
    usage, desc, sections, cur = [], [], [], None
    for line in lines:
        m = re.match(r"^Usage:\s+(.*)$", line)
        if m:
            usage.append(m.group(1).strip())
        elif usage and cur is None and re.match(r"^\s{6,}cbuild ", line):
            usage.append(line.strip())
        elif re.match(r"^[A-Z][A-Za-z ]*:$", line):
            cur = (line[:-1], [])
            sections.append(cur)
        elif cur is not None and line.strip():
            cur[1].append(line)
        elif cur is None and line.strip():
            desc.append(line.strip())
        elif cur is not None and not line.strip():
            cur = None
    return usage, desc, sections


def option_row(line):
    """`  -t, --tag NAME[:TAG]   text` -> (flags, metavar, text); None when not an option row."""
    m = re.match(r"^\s+((?:-[A-Za-z0-9], )?--[A-Za-z0-9-]+)(?: (\S+))?\s{2,}(.*)$", line)
    if not m:
        m = re.match(r"^\s+((?:-[A-Za-z0-9], )?--[A-Za-z0-9-]+) (\S+) (.*)$", line)
    if not m:
        m = re.match(r"^\s+((?:-[A-Za-z0-9], )?--[A-Za-z0-9-]+)()$", line)
        return (m.group(1), "", "") if m else None
    return m.group(1), m.group(2) or "", m.group(3).strip()


def command_row(line):
    m = re.match(r"^\s+(\S+(?: \[[^\]]*\])*(?: \S+)*?)\s{2,}(.*)$", line)
    return (m.group(1), m.group(2).strip()) if m else (line.strip(), "")


def page(name, section_title, version, usage, desc, sections, see_also, verb_pages):
    out = [f'.TH {name.upper()} 1 "" "cbuild {version}" "cbuild manual"',
           ".SH NAME", f"{roff(name)} \\- {roff(section_title)}",
           ".SH SYNOPSIS"]
    for i, u in enumerate(usage):
        if i:
            out.append(".br")
        out.append(roff(u).replace("cbuild", "\\fBcbuild\\fR", 1))
    if desc:
        out.append(".SH DESCRIPTION")
        out.append(roff(" ".join(desc)))
    for title, rows in sections:
        out.append(f".SH {title.upper()}")
        for row in rows:
            opt = option_row(row) if title == "Options" else None
            if opt:
                flags, meta, text = opt
                flag_roff = ", ".join(f"\\fB{roff(f)}\\fR" for f in flags.split(", "))
                out += [".TP", flag_roff + (f" \\fI{roff(meta)}\\fR" if meta else ""), roff(text)]
            else:
                cmd, text = command_row(row)
                word = cmd.split()[0]
                ref = f" (see \\fBcbuild\\-{roff(word)}\\fR(1))" if word in verb_pages else ""
                out += [".TP", f"\\fB{roff(cmd)}\\fR", roff(text) + ref]
    out.append(".SH SEE ALSO")
    out.append(", ".join(f"\\fB{roff(s)}\\fR(1)" for s in see_also))
    return "\n".join(out) + "\n"


def main():
    cbuild, outdir, verbs = sys.argv[1], sys.argv[2], sys.argv[3:]
    env = dict(os.environ, TERM="dumb")
    version = subprocess.run([cbuild, "--version"], capture_output=True, text=True, env=env,
                             check=True).stdout.split()[-1]
    top = run_help(cbuild)
    usage, desc, sections = parse(top)
    listed = []
    summaries = {}
    for title, rows in sections:
        if title == "Commands":
            for row in rows:
                cmd, text = command_row(row)
                listed.append(cmd.split()[0])
                summaries[cmd.split()[0]] = text
    if sorted(listed) != sorted(verbs):
        sys.exit(f"gen-man.py: `cbuild --help` lists {sorted(set(listed) - set(verbs))} without a page and "
                 f"{sorted(set(verbs) - set(listed))} as pages it does not list: update docs/man/meson.build")
    with open(os.path.join(outdir, "cbuild.1"), "w") as f:
        f.write(page("cbuild", desc[0].rstrip(".") if desc else "image builder", version, usage, desc,
                     sections, [f"cbuild-{v}" for v in verbs], set(verbs)))
    for v in verbs:
        vu, vd, vs = parse(run_help(cbuild, v))
        title = vd[0] if vd else summaries[v]
        with open(os.path.join(outdir, f"cbuild-{v}.1"), "w") as f:
            f.write(page(f"cbuild-{v}", title, version, vu, vd, vs, ["cbuild"], set()))


if __name__ == "__main__":
    main()
