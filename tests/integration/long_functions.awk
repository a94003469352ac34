# long_functions.awk - lists the C function definitions longer than MAX body lines (the lines
# between the opening and closing brace) whose comment directly above does not start with
# "/* Long because:" (docs/architecture.md, "Function length"). Prints FILE:LINE NAME LINES.
# It reads the project's layout: a definition starts at column 0 and its braces stand alone at
# column 0; anything else at column 0 (a declaration, a directive, a struct) ends a candidate.
# Usage: awk -v MAX=80 -f long_functions.awk FILES...
FNR == 1 { sig = 0; open = 0; in_comment = 0; comment_first = ""; comment_end = -1 }
in_comment {
    if (index($0, "*/")) { in_comment = 0; comment_end = FNR }
    next
}
!open && /^\/\*/ {
    comment_first = $0
    if (index($0, "*/")) comment_end = FNR; else in_comment = 1
    next
}
open && /^\}/ {
    lines = FNR - open - 1
    if (lines > MAX && !marked) printf "%s:%d %s %d\n", FILENAME, sig, name, lines
    sig = 0; open = 0
    next
}
open { next }
/^\{/ && sig { open = FNR; next }
/^[A-Za-z_]/ && !/;[ \t]*$/ {
    if (!sig) {
        sig = FNR
        marked = comment_end == FNR - 1 && comment_first ~ /^\/\* Long because:/
        name = $0; sub(/\(.*/, "", name); n = split(name, parts, /[ *]+/); name = parts[n]
    }
    next
}
/^[^ \t]/ { sig = 0 }
