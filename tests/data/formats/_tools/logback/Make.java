// Make — logs a deterministic mix of records through SLF4J 1.7.32 + logback 1.2.11 (Debian),
// configured by the logback.xml in the working directory (-Dlogback.configurationFile=...).
// Threads are named like a web app's and run one after another (so the two appenders see the
// events in the same order).  Mode "app" (plain logback pattern) or "spring" (Spring Boot messages).
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.*;
import java.util.concurrent.*;

public class Make {
    static Random rnd = new Random(2026);
    static void sleep() { if (rnd.nextInt(4) != 0) try { Thread.sleep(rnd.nextInt(80)); } catch (InterruptedException e) {} }
    static void on(String thread, Runnable r) throws Exception {
        Thread t = new Thread(r, thread); t.start(); t.join();
    }
    static RuntimeException nested() {
        try {
            try { Integer.parseInt("12a"); } catch (NumberFormatException e) { throw new IllegalStateException("Could not parse quantity for line item 3", e); }
        } catch (IllegalStateException e) { return new RuntimeException("Order 4711 rejected", e); }
        return null;
    }
    public static void main(String[] a) throws Exception {
        String mode = a.length > 0 ? a[0] : "app";
        if (mode.equals("spring")) spring(); else app();
    }
    static void app() throws Exception {
        Logger web = LoggerFactory.getLogger("com.example.shop.web.OrderController");
        Logger svc = LoggerFactory.getLogger("com.example.shop.service.PaymentService");
        Logger repo = LoggerFactory.getLogger("com.example.shop.repository.JdbcOrderRepository");
        Logger sched = LoggerFactory.getLogger("com.example.shop.jobs.ReconciliationJob");
        Logger pool = LoggerFactory.getLogger("com.zaxxer.hikari.pool.HikariPool");
        String[] threads = {"main", "http-nio-8080-exec-1", "http-nio-8080-exec-2", "http-nio-8080-exec-10", "scheduling-1", "pool-2-thread-1"};
        for (int i = 0; i < 140; i++) {
            final int n = i;
            String th = threads[rnd.nextInt(threads.length)];
            int k = rnd.nextInt(20);
            on(th, () -> {
                if (k < 7) web.info("GET /api/orders/{} -> 200 in {} ms", 4000 + n, rnd.nextInt(400));
                else if (k < 9) repo.debug("Executing prepared SQL statement [select * from orders where id = ?] with id={}", 4000 + n);
                else if (k < 10) repo.trace("Binding parameter [1] as [BIGINT] - [{}]", 4000 + n);
                else if (k < 12) pool.warn("HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta={}s).", 45 + rnd.nextInt(60));
                else if (k < 14) svc.error("Payment authorisation failed for order {}: {}", 4000 + n, "card_declined");
                else if (k < 16) svc.error("Unexpected error while processing order " + (4000 + n), nested());
                else if (k < 17) web.warn("Multi-line message:\n  first detail\n  second detail");
                else if (k < 18) sched.info("Reconciliation finished: {} orders checked, {} mismatches", 100 + rnd.nextInt(900), rnd.nextInt(3));
                else web.info("User 'jane.doe' updated address [id={}]", n);
            });
            sleep();
        }
    }
    static void spring() throws Exception {
        String[][] startup = {
            {"INFO", "com.example.demo.DemoApplication", "Starting DemoApplication v0.0.1-SNAPSHOT using Java 17.0.15 with PID " + System.getProperty("PID") + " (/app/demo.jar started by app in /app)"},
            {"DEBUG", "com.example.demo.DemoApplication", "Running with Spring Boot v3.1.5, Spring v6.0.13"},
            {"INFO", "com.example.demo.DemoApplication", "No active profile set, falling back to 1 default profile: \"default\""},
            {"INFO", "org.springframework.data.repository.config.RepositoryConfigurationDelegate", "Bootstrapping Spring Data JPA repositories in DEFAULT mode."},
            {"INFO", "org.springframework.data.repository.config.RepositoryConfigurationDelegate", "Finished Spring Data repository scanning in 41 ms. Found 2 JPA repository interfaces."},
            {"INFO", "org.springframework.boot.web.embedded.tomcat.TomcatWebServer", "Tomcat initialized with port(s): 8080 (http)"},
            {"INFO", "org.apache.catalina.core.StandardService", "Starting service [Tomcat]"},
            {"INFO", "org.apache.catalina.core.StandardEngine", "Starting Servlet engine: [Apache Tomcat/10.1.15]"},
            {"INFO", "org.apache.catalina.core.ContainerBase.[Tomcat].[localhost].[/]", "Initializing Spring embedded WebApplicationContext"},
            {"INFO", "org.springframework.boot.web.servlet.context.ServletWebServerApplicationContext", "Root WebApplicationContext: initialization completed in 1043 ms"},
            {"INFO", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Starting..."},
            {"INFO", "com.zaxxer.hikari.pool.HikariPool", "HikariPool-1 - Added connection conn0: url=jdbc:h2:mem:testdb user=SA"},
            {"INFO", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed."},
            {"INFO", "org.hibernate.jpa.internal.util.LogHelper", "HHH000204: Processing PersistenceUnitInfo [name: default]"},
            {"INFO", "org.hibernate.Version", "HHH000412: Hibernate ORM core version 6.2.13.Final"},
            {"WARN", "org.springframework.boot.autoconfigure.orm.jpa.JpaBaseConfiguration$JpaWebConfiguration", "spring.jpa.open-in-view is enabled by default. Therefore, database queries may be performed during view rendering. Explicitly configure spring.jpa.open-in-view to disable this warning"},
            {"INFO", "org.springframework.boot.web.embedded.tomcat.TomcatWebServer", "Tomcat started on port(s): 8080 (http) with context path ''"},
            {"INFO", "com.example.demo.DemoApplication", "Started DemoApplication in 2.874 seconds (process running for 3.412)"},
        };
        for (String[] s : startup) on("main", () -> log(s[0], s[1], s[2], null));
        String[] execs = {"http-nio-8080-exec-1", "http-nio-8080-exec-2", "http-nio-8080-exec-3", "http-nio-8080-exec-10", "scheduling-1", "task-1"};
        on("http-nio-8080-exec-1", () -> {
            log("INFO", "org.apache.catalina.core.ContainerBase.[Tomcat].[localhost].[/]", "Initializing Spring DispatcherServlet 'dispatcherServlet'", null);
            log("INFO", "org.springframework.web.servlet.DispatcherServlet", "Initializing Servlet 'dispatcherServlet'", null);
            log("INFO", "org.springframework.web.servlet.DispatcherServlet", "Completed initialization in 1 ms", null);
        });
        for (int i = 0; i < 110; i++) {
            final int n = i;
            int k = rnd.nextInt(20);
            String th = execs[rnd.nextInt(execs.length)];
            on(th, () -> {
                if (k < 7) log("INFO", "com.example.demo.web.OrderController", "Fetched order " + (9000 + n) + " for customer " + (100 + rnd.nextInt(50)), null);
                else if (k < 10) log("DEBUG", "org.springframework.web.servlet.DispatcherServlet", "Completed 200 OK", null);
                else if (k < 11) log("TRACE", "org.hibernate.orm.jdbc.bind", "binding parameter [1] as [BIGINT] - [" + (9000 + n) + "]", null);
                else if (k < 13) log("WARN", "org.springframework.web.servlet.mvc.support.DefaultHandlerExceptionResolver", "Resolved [org.springframework.web.HttpRequestMethodNotSupportedException: Request method 'PUT' is not supported]", null);
                else if (k < 15) log("ERROR", "org.apache.catalina.core.ContainerBase.[Tomcat].[localhost].[/].[dispatcherServlet]", "Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: java.lang.RuntimeException: Order " + (9000 + n) + " rejected] with root cause", nested());
                else if (k < 16) log("ERROR", "org.springframework.scheduling.support.TaskUtils$LoggingErrorHandler", "Unexpected error occurred in scheduled task", new IllegalStateException("Reconciliation window closed"));
                else if (k < 18) log("INFO", "com.example.demo.jobs.CleanupJob", "Removed " + rnd.nextInt(30) + " expired sessions", null);
                else log("WARN", "com.zaxxer.hikari.pool.HikariPool", "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta=1m2s).", null);
            });
            sleep();
        }
    }
    static void log(String level, String logger, String msg, Throwable t) {
        Logger l = LoggerFactory.getLogger(logger);
        switch (level) {
            case "TRACE": l.trace(msg, t); break;
            case "DEBUG": l.debug(msg, t); break;
            case "INFO": l.info(msg, t); break;
            case "WARN": l.warn(msg, t); break;
            default: l.error(msg, t);
        }
    }
}
