# make.rb — a one-file Rails 6.1 app (Debian's ruby-railties / ruby-actionpack) in production mode,
# logging the way a generated Rails 6.1 app does in production (config/environments/production.rb):
# ActiveSupport::Logger to a file, config.log_formatter = ::Logger::Formatter.new,
# config.log_tags = [:request_id], wrapped by ActiveSupport::TaggedLogging.
# Requests are driven in-process with Rack::MockRequest.  key.jsonl is written by a module that
# extends the main logger's formatter (same severity, time, message; physical lines of the text).
# Run:  RAILS_ENV=production TZ=UTC faketime -f "@2026-11-30 23:59:58" ruby make.rb
require "json"
require "logger"
require "rails"
require "action_controller/railtie"

# Key writer: extends the main logger's (tagged) formatter, so it sees exactly the arguments
# (severity label, time, message) of every entry and the text written for it.
module KeyCapture
  SEV = { "DEBUG" => 5, "INFO" => 9, "WARN" => 13, "ERROR" => 17, "FATAL" => 21, "ANY" => 0 }
  def call(severity, time, progname, msg)
    text = super
    @key_out ||= File.open("key.jsonl", "w")
    @key_line ||= 1
    n = text.count("\n")
    tags = current_tags
    m = msg.is_a?(String) ? msg : msg.inspect
    f = { "pid" => Process.pid }
    f["request_id"] = tags[0] if tags[0]
    @key_out.write(JSON.generate({ "line" => @key_line, "lines" => n, "time" => time.utc.strftime("%Y-%m-%dT%H:%M:%S.%6NZ"),
      "severity" => SEV[severity], "level" => severity, "message" => m.split("\n", 2)[0].to_s, "fields" => f }) + "\n")
    @key_out.flush
    @key_line += n
    text
  end
end

class ShopApp < Rails::Application
  config.root = __dir__
  config.eager_load = false
  config.consider_all_requests_local = false
  config.secret_key_base = "0" * 64
  config.hosts.clear
  config.log_level = :debug
  config.log_tags = [:request_id]
  config.log_formatter = ::Logger::Formatter.new
  logger = ActiveSupport::Logger.new(File.join(__dir__, "sample.log"))
  logger.formatter = config.log_formatter
  config.logger = ActiveSupport::TaggedLogging.new(logger)
  config.logger.formatter.extend(KeyCapture)
  routes.append do
    get "/orders" => "orders#index"
    get "/orders/:id" => "orders#show"
    post "/orders" => "orders#create"
    get "/boom" => "orders#boom"
    get "/health" => "orders#health"
  end
end

class OrdersController < ActionController::Base
  protect_from_forgery with: :null_session
  def index
    logger.debug "Loading orders page=#{params[:page] || 1}"
    render json: [{ id: 1 }, { id: 2 }]
  end
  def show
    if params[:id].to_i > 1000
      logger.warn "Order #{params[:id]} not found"
      head :not_found
    else
      render json: { id: params[:id].to_i }
    end
  end
  def create
    logger.info "Creating order for customer=#{params[:customer]}"
    render json: { ok: true }, status: :created
  end
  def boom
    raise ArgumentError, "invalid coupon code \"SUMMER\"" if params[:kind] == "arg"
    Integer("12a")
  end
  def health
    head :ok
  end
end

ShopApp.initialize!
File.delete("log/production.log") rescue nil
app = Rack::MockRequest.new(ShopApp)
r = Random.new(3)
paths = [["GET", "/orders"], ["GET", "/orders?page=2"], ["GET", "/orders/17"], ["GET", "/orders/4711"],
         ["POST", "/orders"], ["GET", "/boom"], ["GET", "/boom?kind=arg"], ["GET", "/health"], ["GET", "/nowhere"]]
22.times do |i|
  m, p = paths[r.rand(paths.size)]
  env = { "REMOTE_ADDR" => "203.0.113.#{10 + r.rand(200)}", "HTTP_USER_AGENT" => "Mozilla/5.0", "HTTP_X_REQUEST_ID" => format("%08x-%04x-4%03x-a%03x-%012x", r.rand(2**32), r.rand(2**16), r.rand(4096), r.rand(4096), r.rand(2**48)) }
  if m == "POST"
    app.post(p, env.merge(params: { customer: "c#{i}", items: ["sku-1", "sku-2"] }))
  else
    app.get(p, env)
  end
  sleep(r.rand * 0.25)
end

# Ruby's Logger writes a "# Logfile created on ..." header line into a new file; it is not a
# record, so it is dropped here (KeyLogger counts lines from the first record, so its
# line numbers already refer to the file without the header).
lines = File.readlines("sample.log")
if lines[0].start_with?("# Logfile created")
  File.write("sample.log", lines[1..].join)
end
