# cstrip(s): the C source line s with comments, string and character
# literals blanked (a literal keeps its quotes, a comment becomes one
# space), so that a name inside them is not taken for code.  Block comments
# run across lines in the global `incomment` (reset it at each new file).
# Shared by lint.sh's banned-function check and funclen.sh: both paste this
# file in front of their own awk program.
function cstrip(s,    out, n, i, c, c2, q) {
	out = ""; n = length(s); i = 1
	while (i <= n) {
		c = substr(s, i, 1); c2 = substr(s, i, 2)
		if (incomment) {
			if (c2 == "*/") { incomment = 0; i += 2 } else i++
			continue
		}
		if (c2 == "/*") { incomment = 1; out = out " "; i += 2; continue }
		if (c2 == "//") break
		if (c == "\"" || c == "\047") {
			q = c; i++
			while (i <= n && substr(s, i, 1) != q) {
				if (substr(s, i, 1) == "\\") i++
				i++
			}
			out = out q q; i++
			continue
		}
		out = out c; i++
	}
	return out
}
