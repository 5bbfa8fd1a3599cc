// Make — java.util.logging (JDK 17) with its default ConsoleHandler-style SimpleFormatter format
// ("%1$tb %1$td, %1$tY %1$tl:%1$tM:%1$tS %1$Tp %2$s%n%4$s: %5$s%6$s%n"), written by a FileHandler
// to sample.log.  A second Handler on the same logger formats each LogRecord with the same
// SimpleFormatter (to count lines) and writes key.jsonl from the record (instant, level, message).
// Run:  TZ=UTC faketime -f "@2026-11-30 23:59:58" java Make.java
import java.io.*;
import java.time.*;
import java.time.format.DateTimeFormatter;
import java.util.*;
import java.util.logging.*;

public class Make {
    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c == '\n') b.append("\\n"); else if (c == '\t') b.append("\\t");
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
        }
        return b.append('"').toString();
    }
    static final Map<String, Integer> SEV = Map.of("FINEST", 1, "FINER", 1, "FINE", 5, "CONFIG", 5, "INFO", 9, "WARNING", 13, "SEVERE", 17);
    public static void main(String[] a) throws Exception {
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        root.setLevel(Level.ALL);
        FileHandler fh = new FileHandler("sample.log", false);
        fh.setFormatter(new SimpleFormatter());
        fh.setEncoding("UTF-8");
        fh.setLevel(Level.ALL);
        SimpleFormatter sf = new SimpleFormatter();
        Writer kw = new OutputStreamWriter(new FileOutputStream("key.jsonl"), "UTF-8");
        int[] line = {1};
        Handler key = new Handler() {
            public void publish(LogRecord r) {
                String text = sf.format(r);
                int n = 0; for (char c : text.toCharArray()) if (c == '\n') n++;
                String t = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'").format(LocalDateTime.ofInstant(r.getInstant(), ZoneOffset.UTC));
                String msg = sf.formatMessage(r);
                try {
                    kw.write("{\"line\": " + line[0] + ", \"lines\": " + n + ", \"time\": " + q(t) + ", \"severity\": " + SEV.get(r.getLevel().getName())
                        + ", \"level\": " + q(r.getLevel().getName()) + ", \"message\": " + q(msg.split("\n", -1)[0]) + ", \"fields\": {\"logger\": " + q(r.getLoggerName())
                        + ", \"source\": " + q(r.getSourceClassName() + " " + r.getSourceMethodName()) + (r.getThrown() != null ? ", \"exception\": " + q(r.getThrown().getClass().getName()) : "") + "}}\n");
                    kw.flush();
                } catch (IOException e) { throw new UncheckedIOException(e); }
                line[0] += n;
            }
            public void flush() {}
            public void close() {}
        };
        key.setLevel(Level.ALL);
        root.addHandler(key);   // key first, so it is written before the FileHandler for each record
        root.addHandler(fh);
        Logger web = Logger.getLogger("org.example.web.Server");
        Logger db = Logger.getLogger("org.example.db.Pool");
        Random rnd = new Random(17);
        for (int i = 0; i < 100; i++) {
            int k = rnd.nextInt(20);
            if (k < 7) web.info("Handled GET /items/" + i + " in " + rnd.nextInt(200) + " ms");
            else if (k < 9) db.fine("Borrowed connection #" + rnd.nextInt(10) + " from pool");
            else if (k < 10) db.finer("Connection validation query took " + rnd.nextInt(5) + " ms");
            else if (k < 11) db.finest("ENTRY validate");
            else if (k < 12) web.config("Loaded " + (10 + rnd.nextInt(5)) + " route(s) from routes.properties");
            else if (k < 15) db.warning("Pool exhausted, waiting for a free connection (active=10, idle=0)");
            else if (k < 17) web.log(Level.SEVERE, "Request failed: /checkout", new IllegalStateException("cart is empty", new NullPointerException("cart")));
            else if (k < 18) web.log(Level.INFO, "Session {0} started for user {1}", new Object[]{"s-" + i, "maria"});
            else web.severe("Shutting down listener on port 8080");
            if (rnd.nextInt(4) != 0) Thread.sleep(rnd.nextInt(60));
        }
        fh.close();
        kw.close();
    }
}
