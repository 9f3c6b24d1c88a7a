-- One database and one owner per service (docker-compose runs this once, on an empty volume).
CREATE USER intake WITH PASSWORD 'intake';
CREATE DATABASE intake OWNER intake;
CREATE USER resources WITH PASSWORD 'resources';
CREATE DATABASE resources OWNER resources;
CREATE USER matching WITH PASSWORD 'matching';
CREATE DATABASE matching OWNER matching;
CREATE USER notifications WITH PASSWORD 'notifications';
CREATE DATABASE notifications OWNER notifications;
