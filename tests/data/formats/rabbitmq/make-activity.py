#!/usr/bin/env python3
"""A little client activity against the machine's RabbitMQ (127.0.0.1:5672) so that its log
(/var/log/rabbitmq/rabbit@localhost.log) also shows connection errors: a wrong password, a
non-AMQP client, a vhost that does not exist, and a normal connection that declares a queue."""
import socket, time, pika
def try_conn(**kw):
    try:
        c = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672, connection_attempts=1, socket_timeout=3, **kw))
        ch = c.channel(); ch.queue_declare("corpus-probe", auto_delete=True); ch.basic_publish("", "corpus-probe", b"hi"); c.close()
    except Exception as e:
        print("expected:", type(e).__name__)
try_conn(credentials=pika.PlainCredentials("guest", "wrong-password"))
s = socket.create_connection(("127.0.0.1", 5672)); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); time.sleep(0.3); s.close()
try_conn(credentials=pika.PlainCredentials("guest", "guest"), virtual_host="no-such-vhost")
try_conn(credentials=pika.PlainCredentials("guest", "guest"), client_properties={"connection_name": "corpus-probe"})
s = socket.create_connection(("127.0.0.1", 5672)); s.sendall(b"AMQP\x00\x00\x09\x01"); time.sleep(0.2); s.close()
time.sleep(0.5)
