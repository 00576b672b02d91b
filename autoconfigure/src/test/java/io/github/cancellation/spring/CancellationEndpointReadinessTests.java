package io.github.cancellation.spring;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.Test;

import org.springframework.boot.Banner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Readiness refuses traffic once the application token is cancelled, in a plain (non-web)
 * application too, where Boot itself publishes nothing at shutdown.
 */
class CancellationEndpointReadinessTests {

    @Test
    void readinessShouldRefuseTrafficOnceTheApplicationTokenIsCancelled() {
        try (ConfigurableApplicationContext context = run()) {
            ApplicationAvailability availability = context.getBean(ApplicationAvailability.class);
            assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);

            context.getBean(CancellationToken.class).cancel();

            assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.REFUSING_TRAFFIC);
        }
    }

    @Test
    void readinessShouldRefuseTrafficWhenAPlainApplicationCloses() {
        ConfigurableApplicationContext context = run();
        ApplicationAvailability availability = context.getBean(ApplicationAvailability.class);
        ReadinessEvents events = context.getBean(ReadinessEvents.class);

        context.close();

        assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.REFUSING_TRAFFIC);
        assertThat(events.states).containsExactly(ReadinessState.ACCEPTING_TRAFFIC, ReadinessState.REFUSING_TRAFFIC);
        assertThat(events.sources.get(1)).isInstanceOf(CancellationReadiness.class);
    }

    @Test
    void cancellingABeanTokenShouldNotChangeReadiness() {
        try (ConfigurableApplicationContext context = run()) {
            CancellationEndpointTests.TokenHolder holder = context.getBean(CancellationEndpointTests.TokenHolder.class);

            holder.token.cancel();

            assertThat(context.getBean(ApplicationAvailability.class).getReadinessState())
                .isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);
        }
    }

    private static ConfigurableApplicationContext run() {
        SpringApplication application = new SpringApplication(PlainApplication.class);
        application.setWebApplicationType(WebApplicationType.NONE);
        application.setBannerMode(Banner.Mode.OFF);
        application.setRegisterShutdownHook(false);
        return application.run("--spring.main.log-startup-info=false");
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class PlainApplication {

        @Bean
        CancellationEndpointTests.TokenHolder worker(CancellationToken token) {
            return new CancellationEndpointTests.TokenHolder(token);
        }

        @Bean
        ReadinessEvents readinessEvents() {
            return new ReadinessEvents();
        }
    }

    static class ReadinessEvents implements ApplicationListener<AvailabilityChangeEvent<ReadinessState>> {

        final List<ReadinessState> states = new CopyOnWriteArrayList<>();

        final List<Object> sources = new CopyOnWriteArrayList<>();

        @Override
        public void onApplicationEvent(AvailabilityChangeEvent<ReadinessState> event) {
            states.add(event.getState());
            sources.add(event.getSource());
        }
    }
}
