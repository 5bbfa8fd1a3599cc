// KeyAppender — a logback appender that formats each event with the same pattern as the
// sample.log appender, counts its physical lines, and writes one key.jsonl object from the
// event itself (timestamp, level, thread, logger, formatted message).
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.io.*;
import java.time.*;
import java.time.format.DateTimeFormatter;

public class KeyAppender extends AppenderBase<ILoggingEvent> {
    private String file, pattern;
    private PatternLayout layout;
    private Writer out;
    private int line = 1;
    public void setFile(String f) { file = f; }
    public void setPattern(String p) { pattern = p; }
    @Override public void start() {
        layout = new PatternLayout();
        layout.setContext(getContext());
        layout.setPattern(pattern);
        layout.start();
        try { out = new OutputStreamWriter(new FileOutputStream(file), "UTF-8"); } catch (IOException e) { throw new RuntimeException(e); }
        super.start();
    }
    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c == '\n') b.append("\\n"); else if (c == '\t') b.append("\\t"); else if (c == '\r') b.append("\\r");
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
        }
        return b.append('"').toString();
    }
    static int sev(String l) {
        switch (l) { case "TRACE": return 1; case "DEBUG": return 5; case "INFO": return 9; case "WARN": return 13; case "ERROR": return 17; default: return 0; }
    }
    @Override protected void append(ILoggingEvent e) {
        String text = layout.doLayout(e);
        int n = 0;
        for (char c : text.toCharArray()) if (c == '\n') n++;
        String t = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").format(LocalDateTime.ofInstant(Instant.ofEpochMilli(e.getTimeStamp()), ZoneOffset.UTC));
        String msg = e.getFormattedMessage().split("\n", -1)[0];
        String lvl = e.getLevel().toString();
        String pid = System.getProperty("PID");
        try {
            out.write("{\"line\": " + line + ", \"lines\": " + n + ", \"time\": " + q(t) + ", \"severity\": " + sev(lvl)
                + ", \"level\": " + q(lvl) + ", \"message\": " + q(msg) + ", \"fields\": {\"thread\": " + q(e.getThreadName())
                + ", \"logger\": " + q(e.getLoggerName()) + (pid != null ? ", \"pid\": " + pid : "")
                + (e.getThrowableProxy() != null ? ", \"exception\": " + q(e.getThrowableProxy().getClassName()) : "") + "}}\n");
            out.flush();
        } catch (IOException ex) { throw new RuntimeException(ex); }
        line += n;
    }
}
