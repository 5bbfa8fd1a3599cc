// Make — logs a deterministic mix of records through Log4j 2.19.0 (Debian liblog4j2-java),
// configured by log4j2.xml in the working directory (-Dlog4j2.configurationFile=log4j2.xml).
// A KeyAppender, added to the root logger in code, formats each event with the same
// PatternLayout (to count physical lines) and writes key.jsonl from the event itself.
import org.apache.logging.log4j.*;
import org.apache.logging.log4j.core.*;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.*;
import org.apache.logging.log4j.core.layout.PatternLayout;
import java.io.*;
import java.time.*;
import java.time.format.DateTimeFormatter;
import java.util.*;

public class Make {
    static class KeyAppender extends AbstractAppender {
        final Writer out; int line = 1; final PatternLayout layout;
        KeyAppender(PatternLayout layout) throws IOException {
            super("KEY", null, layout, true, null);
            this.layout = layout;
            out = new OutputStreamWriter(new FileOutputStream("key.jsonl"), "UTF-8");
        }
        static String q(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                if (c == '"' || c == '\\') b.append('\\').append(c);
                else if (c == '\n') b.append("\\n"); else if (c == '\t') b.append("\\t");
                else if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
            }
            return b.append('"').toString();
        }
        static int sev(String l) {
            switch (l) { case "TRACE": return 1; case "DEBUG": return 5; case "INFO": return 9; case "WARN": return 13; case "ERROR": return 17; case "FATAL": return 21; default: return 0; }
        }
        @Override public void append(LogEvent e) {
            String text = layout.toSerializable(e);
            int n = 0; for (char c : text.toCharArray()) if (c == '\n') n++;
            String t = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").format(LocalDateTime.ofInstant(Instant.ofEpochMilli(e.getTimeMillis()), ZoneOffset.UTC));
            String lvl = e.getLevel().name();
            try {
                out.write("{\"line\": " + line + ", \"lines\": " + n + ", \"time\": " + q(t) + ", \"severity\": " + sev(lvl) + ", \"level\": " + q(lvl)
                    + ", \"message\": " + q(e.getMessage().getFormattedMessage().split("\n", -1)[0]) + ", \"fields\": {\"thread\": " + q(e.getThreadName())
                    + ", \"logger\": " + q(e.getLoggerName()) + (e.getThrown() != null ? ", \"exception\": " + q(e.getThrown().getClass().getName()) : "") + "}}\n");
                out.flush();
            } catch (IOException ex) { throw new RuntimeException(ex); }
            line += n;
        }
    }
    static Random rnd = new Random(4242);
    static void on(String name, Runnable r) throws Exception { Thread t = new Thread(r, name); t.start(); t.join(); }
    static Exception nested() {
        try { new ArrayList<String>().get(2); } catch (IndexOutOfBoundsException e) { return new IOException("Failed to read batch manifest s3://bucket/batch-17.json", e); }
        return null;
    }
    public static void main(String[] a) throws Exception {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration cfg = ctx.getConfiguration();
        PatternLayout pl = (PatternLayout) cfg.getAppender("File").getLayout();
        KeyAppender key = new KeyAppender(PatternLayout.newBuilder().withPattern(pl.getConversionPattern()).withConfiguration(cfg).build());
        key.start();
        cfg.getRootLogger().addAppender(key, null, null);
        ctx.updateLoggers();
        org.apache.logging.log4j.Logger ingest = LogManager.getLogger("org.example.etl.IngestService");
        org.apache.logging.log4j.Logger kafka = LogManager.getLogger("org.apache.kafka.clients.consumer.internals.ConsumerCoordinator");
        org.apache.logging.log4j.Logger store = LogManager.getLogger("org.example.etl.store.ParquetWriter");
        org.apache.logging.log4j.Logger main = LogManager.getLogger("org.example.etl.Main");
        String[] threads = {"main", "worker-1", "worker-2", "kafka-coordinator-heartbeat-thread | etl", "pool-1-thread-3"};
        on("main", () -> main.info("Starting ETL {} on JVM {}", "1.8.2", System.getProperty("java.version")));
        for (int i = 0; i < 130; i++) {
            final int n = i; int k = rnd.nextInt(20);
            on(threads[rnd.nextInt(threads.length)], () -> {
                if (k < 7) ingest.info("Ingested batch {} ({} rows, {} bytes)", 17 + n, rnd.nextInt(10000), rnd.nextInt(1 << 24));
                else if (k < 9) store.debug("Flushing row group {} to /data/out/part-{}.parquet", n, String.format("%05d", n));
                else if (k < 10) store.trace("Column chunk stats: min={}, max={}", rnd.nextInt(100), 100 + rnd.nextInt(100));
                else if (k < 12) kafka.warn("[Consumer clientId=etl-1, groupId=etl] Offset commit failed on partition events-{} at offset {}: The coordinator is loading and hence can't process requests.", rnd.nextInt(6), rnd.nextInt(100000));
                else if (k < 14) ingest.error("Batch {} failed", 17 + n, nested());
                else if (k < 15) main.fatal("Out of memory while sorting batch {}; exiting", 17 + n);
                else if (k < 17) ingest.error("Schema mismatch in batch {}: expected {} columns, got {}", 17 + n, 12, 11);
                else ingest.info("Checkpoint written: {\"batch\": " + (17 + n) + ", \"offset\": " + rnd.nextInt(100000) + "}");
            });
            if (rnd.nextInt(4) != 0) Thread.sleep(rnd.nextInt(80));
        }
        LogManager.shutdown();
    }
}
