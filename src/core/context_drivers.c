/* The programs that run a context's cells inside the sandbox (context.c).
 * Each reads the context's secret as the first line of its stdin (not in
 * argv: other processes of the sandbox can read that), then cells as
 * "<length>\n<code>", with /dev/null as the cells' stdin; after cell N it
 * flushes its output and writes the end marker (RS, secret, ':', N, RS) on
 * stdout, followed by the cell's result as one line of JSON, and on stderr.
 * The secret keeps a cell's output from ending it by accident; the number
 * keeps a cell that lies about its own end (it can: it runs in the
 * interpreter) from ending the next one. */
#include "context.h"

/* python3 -c DRIVER */
const char symbi_context_python_driver[] =
	"import ast, json, os, sys, traceback\n"
	"ctl = os.dup(0)\n"
	"null = os.open(os.devnull, os.O_RDONLY)\n"
	"os.dup2(null, 0)\n"
	"os.close(null)\n"
	"def read_exact(n):\n"
	"    b = bytearray()\n"
	"    while len(b) < n:\n"
	"        c = os.read(ctl, n - len(b))\n"
	"        if not c:\n"
	"            os._exit(0)\n"
	"        b += c\n"
	"    return bytes(b)\n"
	"def read_line():\n"
	"    b = bytearray()\n"
	"    while True:\n"
	"        c = read_exact(1)\n"
	"        if c == b'\\n':\n"
	"            return bytes(b)\n"
	"        b += c\n"
	"def run(src, ns):\n"
	"    try:\n"
	"        tree = ast.parse(src, '<cell>', 'exec')\n"
	"        last = None\n"
	"        if tree.body and isinstance(tree.body[-1], ast.Expr):\n"
	"            last = ast.Expression(tree.body.pop().value)\n"
	"        exec(compile(tree, '<cell>', 'exec'), ns)\n"
	"        if last is not None:\n"
	"            v = eval(compile(last, '<cell>', 'eval'), ns)\n"
	"            if v is not None:\n"
	"                return {'value': repr(v)}\n"
	"        return {}\n"
	"    except BaseException as e:\n"
	"        tb = e.__traceback__\n"
	"        while tb is not None and tb.tb_frame.f_code.co_filename != '<cell>':\n"
	"            tb = tb.tb_next\n"
	"        text = ''.join(traceback.format_exception(type(e), e, tb))\n"
	"        return {'error': {'name': type(e).__name__, 'value': str(e), 'traceback': text}}\n"
	"secret = read_line()\n"
	"ns = {'__name__': '__main__', '__builtins__': __builtins__}\n"
	"seq = 0\n"
	"while True:\n"
	"    seq += 1\n"
	"    mark = b'\\x1e' + secret + b':' + str(seq).encode() + b'\\x1e'\n"
	"    try:\n"
	"        src = read_exact(int(read_line())).decode('utf-8', 'replace')\n"
	"        res = run(src, ns)\n"
	"    except KeyboardInterrupt:\n"
	"        res = {'error': {'name': 'KeyboardInterrupt', 'value': '', 'traceback': ''}}\n"
	"    try:\n"
	"        sys.stdout.flush()\n"
	"    except BaseException:\n"
	"        pass\n"
	"    try:\n"
	"        sys.stderr.flush()\n"
	"    except BaseException:\n"
	"        pass\n"
	"    os.write(1, mark + json.dumps(res).encode() + b'\\n')\n"
	"    os.write(2, mark)\n";

/* sh -c DRIVER. The interrupt trap keeps the shell alive when a cell's
 * timeout interrupts the command it runs. */
const char symbi_context_sh_driver[] =
	"exec 3<&0 </dev/null\n"
	"IFS= read -r symbi_mark <&3 || exit 0\n"
	"symbi_seq=0\n"
	"trap 'true' INT\n"
	"while IFS= read -r symbi_n <&3; do\n"
	"  symbi_seq=$((symbi_seq + 1))\n"
	"  symbi_cell=$(head -c \"$symbi_n\" <&3; echo x)\n"
	"  symbi_cell=${symbi_cell%x}\n"
	"  eval \"$symbi_cell\"\n"
	"  symbi_status=$?\n"
	"  printf '\\036%s:%d\\036{\"exit_code\":%d}\\n' \"$symbi_mark\" \"$symbi_seq\" \"$symbi_status\"\n"
	"  printf '\\036%s:%d\\036' \"$symbi_mark\" \"$symbi_seq\" >&2\n"
	"done\n";
