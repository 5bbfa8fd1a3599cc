<?php
// make.php — writes sample.log the way a Laravel 8/9 app's "single"/"daily" log channel does:
// Monolog 2 (Debian php-monolog 2.9.1) StreamHandler + LineFormatter(null, 'Y-m-d H:i:s', true, true)
// with includeStacktraces() (Illuminate\Log\LogManager::formatter()), channel name = APP_ENV.
// key.jsonl comes from a second handler on the same Logger that receives the same records and
// formats them with the same formatter (to count physical lines).
// Run:  TZ=UTC faketime -f "@2026-11-30 23:59:58" php make.php
require '/usr/share/php/Monolog/autoload.php';
use Monolog\Logger;
use Monolog\Handler\StreamHandler;
use Monolog\Handler\AbstractProcessingHandler;
use Monolog\Formatter\LineFormatter;

function laravelFormatter() {
    $f = new LineFormatter(null, 'Y-m-d H:i:s', true, true);
    $f->includeStacktraces();
    return $f;
}
class KeyHandler extends AbstractProcessingHandler {
    private $out; private $line = 1; private $fmt;
    const SEV = ['DEBUG' => 5, 'INFO' => 9, 'NOTICE' => 10, 'WARNING' => 13, 'ERROR' => 17, 'CRITICAL' => 18, 'ALERT' => 22, 'EMERGENCY' => 23];
    public function __construct($path) { parent::__construct(Logger::DEBUG); $this->out = fopen($path, 'w'); $this->fmt = laravelFormatter(); }
    protected function write(array $record): void {
        $text = $this->fmt->format($record);
        $n = substr_count($text, "\n");
        $t = clone $record['datetime'];
        $t = $t->setTimezone(new DateTimeZone('UTC'));
        $fields = ['channel' => $record['channel']];
        foreach ($record['context'] as $k => $v) { if (is_scalar($v)) $fields[$k] = $v; elseif ($v instanceof Throwable) $fields[$k] = get_class($v); }
        fwrite($this->out, json_encode(['line' => $this->line, 'lines' => $n, 'time' => $t->format('Y-m-d\TH:i:s\Z'),
            'severity' => self::SEV[$record['level_name']], 'level' => $record['level_name'],
            'message' => explode("\n", $record['message'])[0], 'fields' => $fields], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n");
        $this->line += $n;
    }
}
@unlink('sample.log');
$log = new Logger('production');
$h = new StreamHandler('sample.log', Logger::DEBUG);
$h->setFormatter(laravelFormatter());
$log->pushHandler(new KeyHandler('key.jsonl'));
$log->pushHandler($h);

class PaymentGatewayException extends RuntimeException {}
function chargeCard($amount) { throw new PaymentGatewayException("Card declined (code 05)", 402); }
function checkout($order) { try { chargeCard($order * 10); } catch (PaymentGatewayException $e) { throw new LogicException("Checkout failed for order $order", 0, $e); } }

mt_srand(11);
for ($i = 0; $i < 110; $i++) {
    $k = mt_rand(0, 19);
    if ($k < 6) $log->info("User logged in", ['user_id' => mt_rand(1, 500), 'ip' => '203.0.113.' . mt_rand(1, 254)]);
    elseif ($k < 8) $log->debug("Cache hit for key [settings.site]");
    elseif ($k < 9) $log->notice("Queue [emails] is backing up", ['size' => mt_rand(100, 900)]);
    elseif ($k < 11) $log->warning("Slow query detected", ['sql' => 'select * from `orders` where `status` = ?', 'time_ms' => mt_rand(500, 4000)]);
    elseif ($k < 14) { try { checkout(1000 + $i); } catch (Throwable $e) { $log->error($e->getMessage(), ['exception' => $e]); } }
    elseif ($k < 15) $log->critical("Redis connection refused [tcp://127.0.0.1:6379]");
    elseif ($k < 16) $log->alert("Disk usage at 97% on /var/www");
    elseif ($k < 17) $log->emergency("Database server has gone away");
    elseif ($k < 18) { try { $x = json_decode("{bad", false, 512, JSON_THROW_ON_ERROR); } catch (JsonException $e) { $log->error("Webhook payload could not be decoded", ['exception' => $e, 'provider' => 'stripe']); } }
    else $log->info("Order shipped", ['order_id' => 5000 + $i, 'carrier' => 'DHL']);
    if (mt_rand(0, 3) > 0) usleep(mt_rand(0, 60000));
}
