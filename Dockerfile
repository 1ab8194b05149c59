# Builds the runnable jar and runs one node. Configuration comes from CHAT_* environment variables.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
WORKDIR /app
COPY --from=build /src/chat-server/target/chat-server.jar /app/chat-server.jar
COPY cluster.xml /app/cluster.xml
COPY jvm.options /app/jvm.options
EXPOSE 8080 5701
STOPSIGNAL SIGTERM
ENTRYPOINT ["java", "@/app/jvm.options", "-XX:MaxRAMPercentage=75", "-Dhazelcast.logging.type=slf4j", "-jar", "/app/chat-server.jar"]
