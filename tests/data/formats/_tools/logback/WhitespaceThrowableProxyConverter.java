// Re-implementation of Spring Boot's org.springframework.boot.logging.logback.
// ExtendedWhitespaceThrowableProxyConverter (the %wEx of Boot's default pattern):
// the extended stack trace with a line separator before and after it.
import ch.qos.logback.classic.pattern.ExtendedThrowableProxyConverter;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.CoreConstants;

public class WhitespaceThrowableProxyConverter extends ExtendedThrowableProxyConverter {
    @Override protected String throwableProxyToString(IThrowableProxy tp) {
        return CoreConstants.LINE_SEPARATOR + super.throwableProxyToString(tp) + CoreConstants.LINE_SEPARATOR;
    }
}
